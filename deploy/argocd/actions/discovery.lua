-- Argo CD resource actions for drmaa2.io/Drmaa2Job: hold and release before submission, terminate a job.
local actions = {}
local submitted = obj.status ~= nil and obj.status.batchJob ~= nil
local terminated = obj.spec ~= nil and obj.spec.terminate == true
actions["hold"] = { ["disabled"] = submitted or (obj.spec ~= nil and obj.spec.hold == true) }
actions["release"] = { ["disabled"] = submitted or obj.spec == nil or obj.spec.hold ~= true }
actions["terminate"] = { ["disabled"] = terminated }
return actions
