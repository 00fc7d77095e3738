// Rendering of HTTP/1.1 response heads and small complete responses as raw bytes.
// cachecar writes responses itself (gather writes, no serializer) so hits cost few copies.
#pragma once

#include <string>
#include <string_view>

namespace cachecar::net {

// "HTTP/1.1 <status> <reason>\r\n"; an empty reason is core::reason_phrase(status).
void append_status_line(std::string& out, int status, std::string_view reason = {});
void append_field(std::string& out, std::string_view name, std::string_view value);
void append_field(std::string& out, std::string_view name, unsigned long long value);

// A whole response with a fixed body: status line, Content-Type, Content-Length, Connection:
// close when !keep_alive, `extra_fields` (pre-rendered "Name: value\r\n" lines), blank line, body.
std::string render_response(int status, std::string_view content_type, std::string_view body,
                            bool keep_alive, std::string_view extra_fields = {});

// {"error": "<code>", "detail": "<detail>"} with JSON string escaping.
std::string json_error_body(std::string_view code, std::string_view detail);

// Escapes a string for inclusion inside JSON double quotes. Bytes that are not well-formed
// UTF-8 become \ufffd (U+FFFD), so the document stays valid JSON.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace cachecar::net
