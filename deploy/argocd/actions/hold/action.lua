obj.spec.hold = true
return obj
