"""The nnevolve language server (pygls): line-type marks, hovers and diagnostics over stdio."""
