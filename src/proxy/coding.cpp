#include "proxy/coding.hpp"

#include "core/gzip.hpp"
#include "net/wire.hpp"

namespace cachecar::proxy {

StoredForm code_for_storing(const policy::CompressionConfig& config,
                            std::uint64_t max_identity_bytes, const policy::HeaderList& headers,
                            std::string_view body, metrics::Metrics& metrics) {
  StoredForm form;
  const auto plan = policy::plan_compression(config, headers, body.size());
  switch (plan) {
    case policy::StoredCoding::AsReceived:
      return form;
    case policy::StoredCoding::GzipByCache: {
      auto compressed = core::gzip_compress(body, config.level);
      if (!compressed || compressed->size() >= body.size()) return form;
      form.gzip = std::move(*compressed);
      form.identity_length = body.size();
      break;
    }
    case policy::StoredCoding::GzipFromUpstream: {
      metrics.record_decompression();
      auto decompressed = core::gzip_decompress(body, static_cast<std::size_t>(max_identity_bytes));
      if (!decompressed) return form;
      form.identity = std::move(*decompressed);
      form.identity_length = form.identity.size();
      break;
    }
  }
  form.coding = plan;
  form.fields =
      policy::gzip_representation_fields(headers, plan == policy::StoredCoding::GzipByCache);
  form.identity_etag = policy::identity_etag_for(plan, headers);
  return form;
}

std::string encode_stored(const StoredForm& form, const policy::Freshness& freshness, int status,
                          std::string_view reason, const policy::HeaderList& headers,
                          std::string_view body, const std::vector<std::string>& strip_fields,
                          const std::vector<std::string>& tags) {
  if (!form.coded()) {
    return policy::encode_entry(freshness, status, reason, headers, body, strip_fields, tags);
  }
  const policy::EntryCoding coding{form.coding, form.identity_length, form.identity_etag};
  return policy::encode_entry(freshness, status, reason, form.fields, form.stored_body(body),
                              strip_fields, tags, coding);
}

std::string encode_freshened(const policy::EntryView& stale, const policy::Freshness& freshness,
                             std::string_view reason, const policy::HeaderList& origin_fields,
                             const std::vector<std::string>& strip_fields,
                             const std::vector<std::string>& tags) {
  if (!stale.gzip_coded()) {
    return policy::encode_entry(freshness, stale.status, reason, origin_fields, stale.body,
                                strip_fields, tags);
  }
  const auto fields = policy::gzip_representation_fields(
      origin_fields, stale.coding == policy::StoredCoding::GzipByCache);
  const std::string identity_etag = policy::identity_etag_for(stale.coding, origin_fields);
  const policy::EntryCoding coding{stale.coding, stale.identity_length, identity_etag};
  return policy::encode_entry(freshness, stale.status, reason, fields, stale.body, strip_fields, {},
                              coding);
}

std::string identity_head(const policy::EntryView& entry) {
  const auto head = policy::parse_entry_head(entry.head);
  const auto fields = policy::identity_representation_fields(head.fields, entry.identity_etag);
  std::string out;
  out.reserve(entry.head.size());
  net::append_status_line(out, entry.status, head.reason);
  for (const auto& [name, value] : fields) net::append_field(out, name, value);
  return out;
}

result<std::string> identity_body(const policy::EntryView& entry, std::size_t max_bytes) {
  auto body =
      core::gzip_decompress(entry.body, max_bytes, static_cast<std::size_t>(entry.identity_length));
  if (body && body->size() != entry.identity_length) {
    return core::make_error_code(core::gzip_errc::corrupt);
  }
  return body;
}

}  // namespace cachecar::proxy
