-- The testgen client for vim.lsp.config / vim.lsp.enable (Neovim 0.11).
-- Override any field with vim.lsp.config("testgen", { settings = { testgen = { ... } } }).
return require("testgen").config()
