module coder-platform/tools/pause

go 1.26.0
