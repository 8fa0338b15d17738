module github.com/coatnet-edge/coatnet-edge

go 1.26.0

require (
	github.com/nlpodyssey/gopickle v0.2.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
