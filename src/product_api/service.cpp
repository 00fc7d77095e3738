#include "product_api/service.hpp"

#include "product_api/validation.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <exception>

namespace cachecar::product_api {
namespace {

namespace http = net::http;
namespace json = boost::json;

constexpr int kDefaultLimit = 20;
constexpr int kMaxLimit = 100;

net::SimpleResponse respond(const net::SimpleRequest& request, int status, std::string body) {
  return net::json_response(status, std::move(body), request.message.version(),
                            request.message.keep_alive());
}

std::string detail(std::string_view message) {
  return json::serialize(json::object{{"detail", message}});
}

std::string not_found(std::string_view id) {
  return detail("Product with id '" + std::string(id) + "' not found");
}

// Value of query parameter `name` ("" when absent).
std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Parses an integer query parameter within [min, max]; appends an error otherwise.
int int_param(std::string_view query, std::string_view name, int fallback, int min, int max,
              std::vector<FieldError>& errors) {
  const auto text = query_param(query, name);
  if (!text) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < min || value > max) {
    errors.push_back({std::string(name), "must be an integer from " + std::to_string(min) + " to " +
                                             std::to_string(max)});
  }
  return value;
}

std::string query_errors_json(const std::vector<FieldError>& errors) {
  json::array out;
  for (const auto& e : errors) {
    out.push_back(json::object{
        {"loc", json::array{"query", e.field}}, {"msg", e.message}, {"type", "value_error"}});
  }
  return json::serialize(json::object{{"detail", out}});
}

}  // namespace

Service::Service(asio::thread_pool& database, Catalog& catalog, ServiceOptions options)
    : database_(database), catalog_(catalog), options_(options) {}

template <class Fn>
asio::awaitable<std::invoke_result_t<Fn&>> Service::on_database(Fn& work) {
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(database_.get_executor(), asio::use_awaitable);
  std::exception_ptr failure;
  std::optional<std::invoke_result_t<Fn&>> value;
  try {
    value.emplace(work());
  } catch (...) {
    failure = std::current_exception();
  }
  co_await asio::post(home, asio::use_awaitable);  // back on the event loop before anything else
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*value);
}

asio::awaitable<net::SimpleResponse> Service::handle(net::SimpleRequest& request) {
  auto response = co_await route(request);
  if (options_.delay.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, options_.delay);
    co_await timer.async_wait(net::use_nothrow);
  }
  co_return response;
}

// Long on purpose: the route table of the API, every route and its method check in one place.
asio::awaitable<net::SimpleResponse> Service::route(net::SimpleRequest& request) {
  const std::string_view target = request.message.target();
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  const auto method = request.message.method();

  auto method_not_allowed = [&request](std::string_view allow) {
    auto response = respond(request, 405, detail("Method Not Allowed"));
    response.set(http::field::allow, allow);
    return response;
  };

  if (path == "/health") {
    if (method != http::verb::get) co_return method_not_allowed("GET");
    auto check = [this] { return catalog_.healthy(); };
    const bool ok = co_await on_database(check);
    co_return respond(request, ok ? 200 : 503,
                      json::serialize(json::object{{"status", ok ? "healthy" : "unhealthy"},
                                                   {"database", ok ? "connected" : "error"}}));
  }

  if (path == "/products") {
    if (method == http::verb::get) {
      std::vector<FieldError> errors;
      const int limit = int_param(query, "limit", kDefaultLimit, 1, kMaxLimit, errors);
      const int offset = int_param(query, "offset", 0, 0, 1'000'000'000, errors);
      if (!errors.empty()) co_return respond(request, 422, query_errors_json(errors));
      auto list = [this, limit, offset] { return catalog_.list(limit, offset); };
      auto products = co_await on_database(list);
      std::string body = "[";
      for (std::size_t i = 0; i < products.size(); ++i) {
        if (i) body += ", ";
        body += to_json(products[i]);
      }
      body += "]";
      co_return respond(request, 200, std::move(body));
    }
    if (method == http::verb::post) {
      auto validated = validate_product(request.message.body(), Mode::Create);
      if (!validated) co_return respond(request, 400, detail("Invalid JSON body"));
      if (!validated->errors.empty()) {
        co_return respond(request, 422, errors_json(validated->errors));
      }
      auto create = [this, &validated] { return catalog_.create(validated->fields); };
      auto product = co_await on_database(create);
      auto response = respond(request, 201, to_json(product));
      response.set(http::field::location, "/products/" + product.id);
      co_return response;
    }
    co_return method_not_allowed("GET, POST");
  }

  constexpr std::string_view kItemPrefix = "/products/";
  if (path.starts_with(kItemPrefix) && path.size() > kItemPrefix.size() &&
      path.find('/', kItemPrefix.size()) == std::string_view::npos) {
    const std::string id(path.substr(kItemPrefix.size()));
    if (method == http::verb::get) {
      auto find = [this, &id] { return catalog_.find(id); };
      auto product = co_await on_database(find);
      if (!product) co_return respond(request, 404, not_found(id));
      co_return respond(request, 200, to_json(*product));
    }
    if (method == http::verb::put) {
      auto validated = validate_product(request.message.body(), Mode::Update);
      if (!validated) co_return respond(request, 400, detail("Invalid JSON body"));
      if (!validated->errors.empty()) {
        co_return respond(request, 422, errors_json(validated->errors));
      }
      auto update = [this, &id, &validated] { return catalog_.update(id, validated->fields); };
      auto product = co_await on_database(update);
      if (!product) co_return respond(request, 404, not_found(id));
      co_return respond(request, 200, to_json(*product));
    }
    if (method == http::verb::delete_) {
      auto remove = [this, &id] { return catalog_.remove(id); };
      const bool removed = co_await on_database(remove);
      if (!removed) co_return respond(request, 404, not_found(id));
      net::SimpleResponse response{http::status::no_content, request.message.version()};
      response.keep_alive(request.message.keep_alive());
      co_return response;
    }
    co_return method_not_allowed("GET, PUT, DELETE");
  }
  co_return respond(request, 404, detail("Not Found"));
}

}  // namespace cachecar::product_api
