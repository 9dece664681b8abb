package server

import _ "embed"

// openAPI is the hand-written OpenAPI 3.0 description of the routes, served
// at /api/v1/openapi.json. A test checks that every route registered in gin
// appears in it.
//
//go:embed openapi.json
var openAPI []byte
