package web

import (
	"encoding/json"
	"net/http"
)

// WriteJSON writes v as the JSON body of a response with status code. v is
// encoded before anything is written, so a value that cannot be encoded is a
// 500 rather than a truncated body.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		body, _ = json.Marshal(errorBody{Error: "encoding the response: " + err.Error()})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

type errorBody struct {
	Error string `json:"error"`
}

// WriteError writes {"error": msg} with status code: the one shape of every
// error the API returns, which the page shows as it is.
func WriteError(w http.ResponseWriter, code int, msg string) {
	WriteJSON(w, code, errorBody{Error: msg})
}
