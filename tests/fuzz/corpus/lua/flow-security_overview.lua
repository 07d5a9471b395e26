-- security_overview: the security centre's data: the devices bound to this
-- login (the profile's `devices`, when the bank keeps them) and the name the
-- customer is known by. The anti-fraud tips are static text on the screen.
return function(params, ctx)
  local profile = bank.profile()
  return { devices = profile.devices or {}, name = profile.name }
end
