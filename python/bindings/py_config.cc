#include "py_config.h"

#include <string>

#include "module.h"
#include "py_errors.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

double Seconds(py::handle config, const char* name) {
  return config.attr(name).cast<double>();  // Config checked the type
}

// An int option (Config checked the type); ValueError when it does not fit 63 bits.
long long Integer(py::handle config, const char* name) {
  py::object v = config.attr(name);
  int overflow = 0;
  const long long n = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (n == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0) throw py::value_error(std::string("Config.") + name + " is out of range");
  return n;
}

size_t Bytes(py::handle config, const char* name) {
  const long long n = Integer(config, name);
  if (n <= 0) throw py::value_error(std::string("Config.") + name + " must be > 0 bytes");
  return static_cast<size_t>(n);
}

}  // namespace

ReplicatorOptions OptionsFrom(py::handle config) {
  ReplicatorOptions o;
  if (config.is_none()) return o;
  if (!py::hasattr(config, "anti_entropy_interval")) {
    throw py::type_error("config must be a cv.Config or None, got " +
                         py::repr(py::type::handle_of(config)).cast<std::string>());
  }
  o.anti_entropy_interval = Seconds(config, "anti_entropy_interval");
  o.max_delta_size = Bytes(config, "max_delta_size");
  o.prune_interval = Seconds(config, "prune_interval");
  o.tombstone_ttl = Seconds(config, "tombstone_ttl");
  o.coordination_timeout = Seconds(config, "coordination_timeout");
  o.coordination_resend_interval = Seconds(config, "coordination_resend_interval");
  if (py::object role = config.attr("role"); !role.is_none()) o.role = role.cast<std::string>();
  o.delta_flush_interval = Seconds(config, "delta_flush_interval");
  o.max_frame_size = Bytes(config, "max_frame_size");
  o.max_reassembly_bytes = Bytes(config, "max_reassembly_bytes");
  const long long large = Integer(config, "log_data_size_exceeding");
  if (large < 0) throw py::value_error("Config.log_data_size_exceeding must be >= 0 bytes");
  o.log_data_size_exceeding = static_cast<size_t>(large);  // 0: never
  const long long depth = Integer(config, "digest_tree_depth");
  o.digest_tree_depth = depth >= 0 && depth <= 64 ? static_cast<int>(depth) : -1;
  o.loss_repair_interval = Seconds(config, "loss_repair_interval");
  o.pruning_interval = Seconds(config, "pruning_interval");
  o.max_pruning_dissemination = Seconds(config, "max_pruning_dissemination");
  o.pruning_marker_ttl = Seconds(config, "pruning_marker_ttl");
  py::object expire = config.attr("expire_keys_after_inactivity");
  o.expire_keys_after_inactivity = expire.is_none() ? 0.0 : expire.cast<double>();  // None: never
  o.dc_replication_interval = Seconds(config, "dc_replication_interval");
  o.dc_anti_entropy_interval = Seconds(config, "dc_anti_entropy_interval");
  o.dc_send_timeout = Seconds(config, "dc_send_timeout");
  o.max_dc_buffer_bytes = Bytes(config, "max_dc_buffer_bytes");
  if (Status s = o.Validate(); !s.ok()) throw py::value_error("Config." + s.message());
  return o;
}

bool WantsSnapshots(py::handle config) {
  if (config.is_none()) return false;
  return !config.attr("snapshot_interval").is_none() || !config.attr("snapshot_dir").is_none();
}

void NodeOptionsFrom(py::handle config, NodeOptions* o) {
  o->replicator = OptionsFrom(config);
  if (config.is_none()) return;
  if (py::object dir = config.attr("snapshot_dir"); !dir.is_none()) {
    o->snapshot_dir = py::module_::import("os").attr("fspath")(dir).cast<std::string>();
  }
  if (py::object every = config.attr("snapshot_interval"); !every.is_none()) {
    o->snapshot_interval = every.cast<double>();
  }
  o->max_delta_flush_interval = Seconds(config, "max_delta_flush_interval");
  py::object down = config.attr("down_after");
  o->down_after = down.is_none() ? 0.0 : down.cast<double>();  // None: never
  o->min_members = static_cast<size_t>(Integer(config, "min_members"));
}

void RegisterConfig(py::module_& m) {
  m.def(
      "_check_config", [](py::handle config) { OptionsFrom(config); }, py::arg("config"),
      "Raises ValueError when the Config's values are out of range (used by cv.Config).");
}

}  // namespace convergent::bindings
