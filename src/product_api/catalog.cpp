#include "product_api/catalog.hpp"

#include <sqlite3.h>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace cachecar::product_api {
namespace {

// Owns one prepared statement; binds and steps with error checks.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int index, double value) {
    check(sqlite3_bind_double(stmt_, index, value));
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  // True while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  std::string text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail("bind");
  }
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw std::runtime_error("sqlite: " + message);
  }
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>((micros % 1'000'000 + 1'000'000) % 1'000'000));
  return buffer;
}

std::string new_uuid() {
  static thread_local boost::uuids::random_generator generator;
  return boost::uuids::to_string(generator());
}

constexpr const char* kColumns =
    "id, name, description, price, stock_quantity, created_at, updated_at";

Product read_product(const Statement& s) {
  return Product{s.text(0), s.text(1), s.text(2), s.real(3), s.integer(4), s.text(5), s.text(6)};
}

}  // namespace

Catalog::Catalog(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open database '" + path + "': " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  exec(db_,
       "CREATE TABLE IF NOT EXISTS products ("
       " id TEXT PRIMARY KEY,"
       " name TEXT NOT NULL,"
       " description TEXT NOT NULL DEFAULT '',"
       " price REAL NOT NULL CHECK (price > 0),"
       " stock_quantity INTEGER NOT NULL CHECK (stock_quantity >= 0),"
       " created_at TEXT NOT NULL,"
       " updated_at TEXT NOT NULL);"
       "CREATE INDEX IF NOT EXISTS products_newest ON products (created_at DESC);");
}

Catalog::~Catalog() {
  sqlite3_close(db_);
}

int Catalog::seed_if_empty() {
  Statement count(db_, "SELECT COUNT(*) FROM products");
  count.step();
  if (count.integer(0) > 0) return 0;
  struct Sample {
    const char* name;
    const char* description;
    double price;
    std::int64_t stock;
  };
  static constexpr Sample kSamples[] = {
      {"Mechanical keyboard", "Tenkeyless, brown switches", 89.90, 25},
      {"USB-C hub", "7 ports, 100 W pass-through", 39.50, 120},
      {"Noise-cancelling headphones", "Over-ear, 30 h battery", 199.00, 12},
      {"4K monitor", "27 inch IPS, USB-C", 329.99, 8},
      {"Ergonomic mouse", "Vertical, wireless", 49.00, 60},
  };
  exec(db_, "BEGIN");
  for (const auto& sample : kSamples) {
    create({sample.name, sample.description, sample.price, sample.stock});
  }
  exec(db_, "COMMIT");
  return static_cast<int>(std::size(kSamples));
}

Product Catalog::create(const ProductFields& fields) {
  Product product{new_uuid(),
                  fields.name.value_or(""),
                  fields.description.value_or(""),
                  fields.price.value_or(0),
                  fields.stock_quantity.value_or(0),
                  now_iso8601(),
                  {}};
  product.updated_at = product.created_at;
  Statement insert(db_,
                   "INSERT INTO products (id, name, description, price, stock_quantity,"
                   " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, product.id)
      .bind(2, product.name)
      .bind(3, product.description)
      .bind(4, product.price)
      .bind(5, product.stock_quantity)
      .bind(6, product.created_at)
      .bind(7, product.updated_at);
  insert.step();
  return product;
}

std::optional<Product> Catalog::find(std::string_view id) {
  Statement select(db_,
                   (std::string("SELECT ") + kColumns + " FROM products WHERE id = ?").c_str());
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  return read_product(select);
}

std::vector<Product> Catalog::list(int limit, int offset) {
  Statement select(db_, (std::string("SELECT ") + kColumns +
                         " FROM products ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?")
                            .c_str());
  select.bind(1, static_cast<std::int64_t>(limit)).bind(2, static_cast<std::int64_t>(offset));
  std::vector<Product> products;
  while (select.step()) products.push_back(read_product(select));
  return products;
}

std::optional<Product> Catalog::update(std::string_view id, const ProductFields& fields) {
  auto product = find(id);
  if (!product) return std::nullopt;
  if (fields.name) product->name = *fields.name;
  if (fields.description) product->description = *fields.description;
  if (fields.price) product->price = *fields.price;
  if (fields.stock_quantity) product->stock_quantity = *fields.stock_quantity;
  product->updated_at = now_iso8601();
  Statement write(db_,
                  "UPDATE products SET name = ?, description = ?, price = ?, stock_quantity = ?,"
                  " updated_at = ? WHERE id = ?");
  write.bind(1, product->name)
      .bind(2, product->description)
      .bind(3, product->price)
      .bind(4, product->stock_quantity)
      .bind(5, product->updated_at)
      .bind(6, id);
  write.step();
  return product;
}

bool Catalog::remove(std::string_view id) {
  Statement erase(db_, "DELETE FROM products WHERE id = ?");
  erase.bind(1, id);
  erase.step();
  return sqlite3_changes(db_) > 0;
}

bool Catalog::healthy() {
  try {
    Statement ping(db_, "SELECT 1");
    return ping.step();
  } catch (const std::exception&) {
    return false;
  }
}

std::string to_json(const Product& product) {
  // Rendered by hand: Boost.JSON prints doubles in exponent form (4.9E1), and a price should
  // read as a price. std::to_chars gives the shortest text that round-trips.
  char price[32];
  auto [end, ec] = std::to_chars(price, price + sizeof price, product.price);
  (void)ec;
  std::string out = "{\"id\": ";
  out += boost::json::serialize(boost::json::value(product.id));
  out += ", \"name\": " + boost::json::serialize(boost::json::value(product.name));
  out += ", \"description\": " + boost::json::serialize(boost::json::value(product.description));
  out += ", \"price\": ";
  out.append(price, end);
  out += ", \"stock_quantity\": " + std::to_string(product.stock_quantity);
  out += ", \"created_at\": \"" + product.created_at + "\"";
  out += ", \"updated_at\": \"" + product.updated_at + "\"}";
  return out;
}

}  // namespace cachecar::product_api
