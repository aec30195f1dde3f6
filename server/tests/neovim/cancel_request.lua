-- The cancel session of cancel.lua by its second route: Neovim's own
-- `client:cancel_request(id)` (`$/cancelRequest`) on :TestgenGenerate's
-- pending request.
_G.testgen_e2e.route = "request"
local here = debug.getinfo(1, "S").source:sub(2)
dofile((here:gsub("cancel_request%.lua$", "cancel.lua")))
