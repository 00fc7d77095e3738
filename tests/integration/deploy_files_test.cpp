// No Docker engine runs on the test machines, so the deployment files are checked against what
// they reference: the binaries' real flags, the config schema, ports, and the shared libraries
// the runtime image must provide.
#include "config/config.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace cachecar::test {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = CACHECAR_SOURCE_DIR;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The names referenced as ${NAME...} in `text`, and `text` with every ${NAME:-default}
// replaced by its default (Docker Compose interpolation with no such variable set).
// (No <regex>: GCC 12 warns inside it at -O2 with sanitizers, and warnings are errors.)
struct References {
  std::set<std::string> names;
  std::string with_defaults;
};

References scan_references(const std::string& text) {
  References out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto start = text.find("${", i);
    if (start == std::string::npos) break;
    const auto close = text.find('}', start);
    if (close == std::string::npos) break;
    out.with_defaults.append(text, i, start - i);
    const std::string inner = text.substr(start + 2, close - start - 2);
    const auto dash = inner.find(":-");
    out.names.insert(inner.substr(0, dash));
    out.with_defaults += dash == std::string::npos ? "" : inner.substr(dash + 2);
    i = close + 1;
  }
  out.with_defaults.append(text, std::min(i, text.size()), std::string::npos);
  return out;
}

std::string compose_value(const std::string& value) {
  return scan_references(value).with_defaults;
}

std::map<std::string, std::string> env_map(const YAML::Node& environment) {
  std::map<std::string, std::string> env;
  for (const auto& item : environment) {
    env[item.first.as<std::string>()] = compose_value(item.second.as<std::string>());
  }
  return env;
}

config::EnvLookup lookup(const std::map<std::string, std::string>& env) {
  return [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item.as<std::string>());
  return out;
}

// Every "--flag" in args must be documented by `binary --help`.
void expect_flags_exist(const std::string& binary, const std::vector<std::string>& args) {
  const auto help = run_command(binary + " --help");
  ASSERT_EQ(help.exit_code, 0) << help.output;
  for (const auto& arg : args) {
    if (arg.rfind("--", 0) != 0) continue;
    const auto flag = arg.substr(0, arg.find('='));
    EXPECT_NE(help.output.find(flag), std::string::npos) << binary << " has no flag " << flag;
  }
}

const std::set<std::string> kCachecarEnv = {"CACHECAR_LISTEN",      "CACHECAR_UPSTREAM_URL",
                                            "CACHECAR_REDIS_URL",   "CACHECAR_ADMIN_LISTEN",
                                            "CACHECAR_ADMIN_TOKEN", "CACHECAR_LOG_LEVEL"};

// Env vars the config may read: the documented overrides plus ${NAME} references in `text`.
std::set<std::string> known_env(const std::string& config_text) {
  auto names = kCachecarEnv;
  names.merge(scan_references(config_text).names);
  return names;
}

std::uint16_t port_of(const std::string& host_port) {
  return static_cast<std::uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
}

TEST(DeployFilesTest, ComposeRunsTheWholeSystemWithHealthChecks) {
  const auto compose = YAML::LoadFile((kRoot / "docker-compose.yml").string());
  const auto services = compose["services"];
  for (const char* name : {"redis", "product-api", "cachecar", "prometheus"}) {
    ASSERT_TRUE(services[name]) << "service " << name;
  }
  for (const char* name : {"redis", "product-api", "cachecar"}) {
    EXPECT_TRUE(services[name]["healthcheck"]["test"]) << name << " has no healthcheck";
  }
  for (const char* dependency : {"redis", "product-api"}) {
    EXPECT_EQ(services["cachecar"]["depends_on"][dependency]["condition"].as<std::string>(),
              "service_healthy");
  }
  EXPECT_EQ(services["prometheus"]["depends_on"]["cachecar"]["condition"].as<std::string>(),
            "service_healthy");
  EXPECT_EQ(services["cachecar"]["build"]["dockerfile"].as<std::string>(), "deploy/Dockerfile");
  EXPECT_TRUE(fs::exists(kRoot / "deploy/Dockerfile"));
}

TEST(DeployFilesTest, ComposeCommandsUseRealFlagsAndAValidConfig) {
  const auto services = YAML::LoadFile((kRoot / "docker-compose.yml").string())["services"];
  expect_flags_exist(PRODUCT_API_BINARY_PATH, strings(services["product-api"]["command"]));
  const auto cachecar_args = strings(services["cachecar"]["command"]);
  expect_flags_exist(CACHECAR_BINARY_PATH, cachecar_args);

  // The image ships config/cachecar.yaml at the path the command names.
  ASSERT_EQ(cachecar_args.at(1), "/etc/cachecar/cachecar.yaml");
  const auto dockerfile = read_file(kRoot / "deploy/Dockerfile");
  EXPECT_NE(dockerfile.find("COPY config/cachecar.yaml /etc/cachecar/cachecar.yaml"),
            std::string::npos);

  const auto env = env_map(services["cachecar"]["environment"]);
  const auto config_text = read_file(kRoot / "config/cachecar.yaml");
  const auto allowed = known_env(config_text);
  for (const auto& [name, value] : env) {
    EXPECT_TRUE(allowed.count(name)) << name << " is read by neither cachecar nor the config";
  }
  const auto config = config::load_config_text(config_text, "cachecar.yaml", lookup(env));
  EXPECT_EQ(config.upstream.address.to_string(), "product-api:8000");
  EXPECT_EQ(config.store.address.to_string(), "redis:6379");

  // Published ports and health checks agree with the listeners.
  const auto ports = strings(services["cachecar"]["ports"]);
  EXPECT_NE(
      std::find(ports.begin(), ports.end(),
                std::to_string(config.listen.port) + ":" + std::to_string(config.listen.port)),
      ports.end());
  const auto health = strings(services["cachecar"]["healthcheck"]["test"]);
  EXPECT_EQ(health.back(),
            "http://127.0.0.1:" + std::to_string(config.admin.listen.port) + "/health");
  const auto product_args = strings(services["product-api"]["command"]);
  const auto product_health = strings(services["product-api"]["healthcheck"]["test"]);
  EXPECT_EQ(product_health.back(),
            "http://127.0.0.1:" + std::to_string(port_of(product_args.at(1))) + "/health");
}

TEST(DeployFilesTest, PrometheusScrapesTheAdminListener) {
  const auto prometheus = YAML::LoadFile((kRoot / "deploy/prometheus/prometheus.yml").string());
  const auto job = prometheus["scrape_configs"][0];
  EXPECT_EQ(job["metrics_path"].as<std::string>(), "/metrics");
  const auto services = YAML::LoadFile((kRoot / "docker-compose.yml").string())["services"];
  const auto env = env_map(services["cachecar"]["environment"]);
  EXPECT_EQ(job["static_configs"][0]["targets"][0].as<std::string>(),
            "cachecar:" + std::to_string(port_of(env.at("CACHECAR_ADMIN_LISTEN"))));
  EXPECT_EQ(compose_value(strings(services["prometheus"]["volumes"]).at(0)),
            "./deploy/prometheus:/etc/prometheus:ro");
}

TEST(DeployFilesTest, RuntimeImageProvidesEverySharedLibraryTheBinariesLoad) {
  const auto dockerfile = read_file(kRoot / "deploy/Dockerfile");
  const auto runtime = dockerfile.substr(dockerfile.rfind("FROM "));
  EXPECT_NE(runtime.find("USER 10001"), std::string::npos) << "runtime must not run as root";
  for (const std::string binary : {CACHECAR_BINARY_PATH, PRODUCT_API_BINARY_PATH}) {
    // Packages owning each loaded library (merged /usr: /lib is /usr/lib).
    const auto owners = run_command(
        "ldd " + binary +
        " | awk '$3 ~ /^\\// {print $3}' | xargs -r readlink -f | sed 's|^/lib/|/usr/lib/|'"
        " | xargs -r dpkg -S | cut -d: -f1 | sort -u");
    ASSERT_EQ(owners.exit_code, 0) << owners.output;
    std::istringstream lines(owners.output);
    for (std::string package; std::getline(lines, package);) {
      if (package == "libc6" || package == "libgcc-s1" || package == "libstdc++6") continue;
      if (package.find("asan") != std::string::npos || package.find("ubsan") != std::string::npos) {
        continue;  // sanitizer runtimes of a test build
      }
      EXPECT_NE(runtime.find(package), std::string::npos)
          << binary << " needs " << package << ", which the runtime stage does not install";
    }
  }
}

TEST(DeployFilesTest, KubernetesSidecarConfigIsValidAndConsistent) {
  const auto dir = kRoot / "deploy/kubernetes";
  for (const auto& resource : YAML::LoadFile((dir / "kustomization.yaml").string())["resources"]) {
    EXPECT_TRUE(fs::exists(dir / resource.as<std::string>())) << resource.as<std::string>();
  }
  const auto configmap = YAML::LoadFile((dir / "configmap.yaml").string());
  const auto config_text = configmap["data"]["cachecar.yaml"].as<std::string>();
  const auto documents = YAML::LoadAllFromFile((dir / "deployment.yaml").string());
  YAML::Node deployment;
  for (const auto& doc : documents) {
    if (doc["kind"].as<std::string>() == "Deployment") deployment.reset(doc);
  }
  ASSERT_TRUE(deployment);
  const auto pod = deployment["spec"]["template"];
  YAML::Node app, sidecar;
  for (const auto& container : pod["spec"]["containers"]) {
    const YAML::Node& node = container;
    if (node["name"].as<std::string>() == "cachecar") sidecar.reset(node);
    if (node["name"].as<std::string>() == "app") app.reset(node);
  }
  ASSERT_TRUE(app && sidecar);

  std::map<std::string, std::string> env;
  bool token_from_secret = false;
  for (const auto& var : sidecar["env"]) {
    const auto name = var["name"].as<std::string>();
    if (var["valueFrom"] && var["valueFrom"]["secretKeyRef"]) {
      token_from_secret = name == "CACHECAR_ADMIN_TOKEN";
      env[name] = "test-token";
    } else {
      env[name] = var["value"].as<std::string>();
    }
  }
  EXPECT_TRUE(token_from_secret) << "the admin token must come from a Secret";
  const auto allowed = known_env(config_text);
  for (const auto& [name, value] : env) EXPECT_TRUE(allowed.count(name)) << name;

  // `cachecar --check-config` on the ConfigMap's file with the container's environment.
  const auto path =
      fs::temp_directory_path() / ("cachecar-k8s-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << config_text;
  std::string command;
  for (const auto& [name, value] : env) command += name + "='" + value + "' ";
  command += std::string(CACHECAR_BINARY_PATH) + " --config " + path.string() + " --check-config";
  const auto check = run_command(command);
  fs::remove(path);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  const auto config = config::load_config_text(config_text, "configmap", lookup(env));

  // The sidecar forwards to the app container's listener; probes and scraping use admin.
  const auto app_args = strings(app["args"]);
  expect_flags_exist(PRODUCT_API_BINARY_PATH, app_args);
  expect_flags_exist(CACHECAR_BINARY_PATH, strings(sidecar["args"]));
  EXPECT_EQ(config.upstream.address.to_string(), app_args.at(1));
  std::map<std::string, int> ports;
  for (const auto& port : sidecar["ports"]) {
    ports[port["name"].as<std::string>()] = port["containerPort"].as<int>();
  }
  EXPECT_EQ(ports.at("admin"), config.admin.listen.port);
  EXPECT_EQ(ports.at("http"), port_of(env.at("CACHECAR_LISTEN")));
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    EXPECT_EQ(sidecar[probe]["httpGet"]["path"].as<std::string>(), "/health");
    EXPECT_EQ(sidecar[probe]["httpGet"]["port"].as<std::string>(), "admin");
  }
  const auto annotations = pod["metadata"]["annotations"];
  EXPECT_EQ(annotations["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(annotations["prometheus.io/port"].as<int>(), config.admin.listen.port);
  EXPECT_EQ(annotations["prometheus.io/path"].as<std::string>(), "/metrics");
  EXPECT_EQ(sidecar["volumeMounts"][0]["mountPath"].as<std::string>(), "/etc/cachecar");
  EXPECT_EQ(strings(sidecar["args"]).at(1), "/etc/cachecar/cachecar.yaml");
}

}  // namespace
}  // namespace cachecar::test
