obj.spec.hold = false
return obj
