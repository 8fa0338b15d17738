// Package web is the agent's HTTP side, kept apart from the agent so that it
// can be tested on its own with real listeners: a server whose connections,
// streams and write times are bounded (a slow or stalled client costs a
// connection slot and one goroutine, never the pipeline), authentication from
// a file and CSRF protection for the writes, MJPEG fan-out of the newest frame
// (Hub), Prometheus metrics made from any stats struct by reflection, and the
// embedded status page.
//
// It imports nothing of the agent: the agent hands it plain values (JPEG
// bytes, a stats value, handlers), so the dependency runs one way and the
// limits here are checked without a camera, a model or a broker.
package web
