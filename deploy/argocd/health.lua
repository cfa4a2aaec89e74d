-- Argo CD health check for drmaa2.io/Drmaa2Job (resource.customizations.health.drmaa2.io_Drmaa2Job).
-- Degraded when the job failed, Healthy when it completed, Suspended while held or waiting for Kueue,
-- Progressing otherwise and while the controller has not yet observed the latest generation.
local hs = { status = "Progressing", message = "Waiting for the controller" }
if obj.status == nil then
  if obj.spec ~= nil and obj.spec.hold == true then
    hs.status = "Suspended"
    hs.message = "Held: set spec.hold to false to submit"
  end
  return hs
end
local generation = obj.metadata and obj.metadata.generation or nil
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  hs.message = "Waiting for the controller to observe generation " .. generation
  return hs
end
local function condition(kind)
  if obj.status.conditions == nil then return nil end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then return c end
  end
  return nil
end
local failed = condition("Failed")
if failed ~= nil and failed.status == "True" then
  hs.status = "Degraded"
  hs.message = (failed.reason or "Failed") .. ": " .. (failed.message or "")
  return hs
end
local complete = condition("Complete")
if complete ~= nil and complete.status == "True" then
  hs.status = "Healthy"
  hs.message = complete.message or "Succeeded"
  return hs
end
if obj.status.state == "QueuedHeld" or (obj.spec ~= nil and obj.spec.hold == true and obj.status.batchJob == nil) then
  hs.status = "Suspended"
  hs.message = "Held: set spec.hold to false to submit"
  return hs
end
-- Waiting for Kueue (its admission, or a queue-name label its profile requires), as Argo CD shows a batch Job
-- that Kueue keeps suspended: nothing runs until Kueue or the tenant acts.
local submitted = condition("Submitted")
if obj.status.subState == "PENDING_ADMISSION"
    or (submitted ~= nil and submitted.status == "False" and submitted.reason == "QueueRequired") then
  hs.status = "Suspended"
  hs.message = (submitted and submitted.message) or "Waiting for Kueue to admit it"
  return hs
end
hs.message = "DRMAA2 state " .. (obj.status.state or "Unknown") .. " (" .. (obj.status.subState or "") .. ")"
return hs
