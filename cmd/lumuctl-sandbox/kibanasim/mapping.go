package kibanasim

import "encoding/json"

// This file is the storage side of Kibana that the route schemas do not
// show: the saved-object mapping of the exception-list types. The lists
// plugin maps meta as a keyword (elastic/kibana
// x-pack/solutions/security/plugins/lists/server/saved_objects/exception_list.ts,
// commonMapping.meta = {type: 'keyword'}, read at 77180a7642f3), while its
// API schema accepts an object there. Elasticsearch refuses an object in a
// keyword field with a 400 mapper_parsing_exception, which the saved-objects
// client decorates as a bad request (decorateEsError ->
// decorateBadRequestError, reason prefixed to the ES message) and the lists
// routes return through the SIEM envelope (transformError +
// siemResponse.error). So a create or update that carries an object meta
// passes every validator and then fails at the write, with nothing stored.
// The exact wording of the reason is assumed (docs/compatibility.md).

// mappingError returns the 400 Elasticsearch answers when a document of
// type soType would store meta (a JSON object) in the keyword field, or nil
// when meta is absent.
func mappingError(soType, id string, meta json.RawMessage) *apiErr {
	if len(meta) == 0 {
		return nil
	}
	preview := string(meta)
	if len(preview) > 80 {
		preview = preview[:80] + "..."
	}
	return siemErr(400, "failed to parse field [%s.meta] of type [keyword] in document with id '%s:%s'. Preview of field's value: '%s': mapper_parsing_exception",
		soType, soType, id, preview)
}
