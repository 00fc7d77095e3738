// The bundled backend's storage: products in SQLite (WAL). Blocking calls: use a Catalog only
// from the one database thread that owns it, never from an event loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace cachecar::product_api {

struct Product {
  std::string id;  // UUID v4
  std::string name;
  std::string description;
  double price = 0;
  std::int64_t stock_quantity = 0;
  std::string created_at;  // ISO 8601 UTC with microseconds
  std::string updated_at;
};

// A set of fields to create or change; unset fields are left alone.
struct ProductFields {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<double> price;
  std::optional<std::int64_t> stock_quantity;
};

class Catalog {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" allowed). Throws
  // std::runtime_error with SQLite's message on failure (start-up only).
  explicit Catalog(const std::string& path);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Adds a few sample products when the table is empty. Returns how many were added.
  int seed_if_empty();

  // Precondition: name, price and stock_quantity are set (validated by the caller).
  Product create(const ProductFields& fields);
  std::optional<Product> find(std::string_view id);
  std::vector<Product> list(int limit, int offset);  // newest first
  std::optional<Product> update(std::string_view id, const ProductFields& fields);
  bool remove(std::string_view id);
  bool healthy();  // the database answers a query

 private:
  sqlite3* db_ = nullptr;
};

// {"id": ..., "name": ..., "description": ..., "price": ..., "stock_quantity": ...,
//  "created_at": ..., "updated_at": ...}
std::string to_json(const Product& product);

}  // namespace cachecar::product_api
