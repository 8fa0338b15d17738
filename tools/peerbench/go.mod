module github.com/coatnet-edge/coatnet-edge/tools/peerbench

go 1.26.0

require (
	github.com/coatnet-edge/coatnet-edge v0.0.0
	github.com/yalue/onnxruntime_go v1.27.0
)

require (
	github.com/nlpodyssey/gopickle v0.2.0 // indirect
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/coatnet-edge/coatnet-edge => ../..
