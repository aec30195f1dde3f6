-- The :Testgen* commands exist as soon as the plugin is on 'runtimepath',
-- whether the server is started by require("testgen").setup() or by
-- vim.lsp.enable("testgen") (Neovim 0.11, lsp/testgen.lua).
if vim.g.loaded_testgen then
  return
end
vim.g.loaded_testgen = true
require("testgen.commands").define()
