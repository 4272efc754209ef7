#include "convergent/node_options.h"

namespace convergent {

Status NodeOptions::Validate() const {
  if (transport.listen.empty()) return Status::InvalidArgument("listen: a URL is required");
  if (transport.send_buffer > 8192) return Status::InvalidArgument("send_buffer must be <= 8192");
  if (!(seed_resolve_interval > 0 && seed_resolve_interval < 86400)) {
    return Status::InvalidArgument("seed_resolve_interval must be > 0 seconds");
  }
  if (!(heartbeat_interval > 0 && heartbeat_interval < 3600)) {
    return Status::InvalidArgument("heartbeat_interval must be > 0 seconds");
  }
  if (!(failure_timeout > heartbeat_interval && failure_timeout < 86400)) {
    return Status::InvalidArgument("failure_timeout must be greater than heartbeat_interval");
  }
  if (min_members < 1 || min_members > 100000) {
    return Status::InvalidArgument("min_members must be in [1, 100000]");
  }
  if (!(down_after >= 0 && down_after < 1e9)) {
    return Status::InvalidArgument("down_after must be >= 0 seconds (0: never)");
  }
  if (!snapshot_dir.empty() && !(snapshot_interval > 0 && snapshot_interval < 86400)) {
    return Status::InvalidArgument("snapshot_interval must be > 0 seconds");
  }
  if (!(max_delta_flush_interval > 0 && max_delta_flush_interval < 86400)) {
    return Status::InvalidArgument("max_delta_flush_interval must be > 0 seconds");
  }
  if (transport.max_frame_size < replicator.max_frame_size) {
    return Status::InvalidArgument(
        "the transport's max_frame_size must be at least the replicator's max_frame_size");
  }
  if (datacenter.empty() && !remote_seeds.empty()) {
    return Status::InvalidArgument("remote_seeds need a datacenter for this node");
  }
  for (const auto& [name, urls] : remote_seeds) {
    if (name.empty()) return Status::InvalidArgument("remote_seeds: a datacenter name is empty");
    if (name == datacenter) {
      return Status::InvalidArgument("remote_seeds: '" + name +
                                     "' is this node's own datacenter (its seeds go in seeds)");
    }
    if (urls.empty()) {
      return Status::InvalidArgument("remote_seeds: datacenter '" + name + "' has no URL");
    }
  }
  return replicator.Validate();
}

}  // namespace convergent
