package redact

import "testing"

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"},
		{"mqtts://broker.lan:8883", "mqtts://broker.lan:8883"},
		{"mqtt://agent@broker.lan:1883", "mqtt://agent@broker.lan:1883"},
		{"mqtt://agent:pw@broker.lan:1883", "mqtt://agent:xxxxx@broker.lan:1883"},
		{"mqtt://agent:p%40w@broker.lan:1883", "mqtt://agent:xxxxx@broker.lan:1883"},
		// Unparsable ones, as error messages quote them.
		{"mqtt://agent:pw@broker.lan:port", "mqtt://agent:xxxxx@broker.lan:port"},
		{"mqtt://agent:p/w@broker.lan:1883", "mqtt://agent:xxxxx@broker.lan:1883"},
		{"mqtt://agent:p#w@broker.lan:1883", "mqtt://agent:xxxxx@broker.lan:1883"},
		{"mqtt://agent:1234#w@broker.lan:1883", "mqtt://agent:xxxxx@broker.lan:1883"},
		{"agent:pw@broker.lan:1883", "agent:xxxxx@broker.lan:1883"},
		{"", ""},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSource(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/dev/video0", "/dev/video0"},
		{"0", "0"},
		{"rtsp://admin:hunter2@10.0.0.5:554/stream1", "rtsp://admin:xxxxx@10.0.0.5:554/stream1"},
		{"rtspsrc location=rtsp://admin:hunter2@cam/s ! decodebin ! videoconvert ! appsink",
			"rtspsrc location=rtsp://admin:xxxxx@cam/s ! decodebin ! videoconvert ! appsink"},
		{"souphttpsrc location=http://u:p@a/x ! jpegdec ! appsink name=rtsp://b:q@c",
			"souphttpsrc location=http://u:xxxxx@a/x ! jpegdec ! appsink name=rtsp://b:xxxxx@c"},
		{"libcamerasrc ! video/x-raw,width=640 ! appsink", "libcamerasrc ! video/x-raw,width=640 ! appsink"},
	} {
		if got := Source(c.in); got != c.want {
			t.Errorf("Source(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
