module github.com/crossteam/crossteam

go 1.26.8
