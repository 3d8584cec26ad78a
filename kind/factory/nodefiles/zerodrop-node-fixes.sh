#!/bin/bash
# zerodrop node fixes: run by systemd in every kind node before containerd and
# kubelet start. Each fix applies only when this host needs it, so the same
# node image works on a cgroup v2 laptop with full capabilities.
set -o errexit -o nounset -o pipefail

log() { echo "zerodrop-node-fixes: $*"; }

# 1. The capability bounding set lacks CAP_SYS_RESOURCE (bit 24): runc cannot
#    lower oom_score_adj for critical pods (kubelet asks -998) and every pod
#    sandbox fails. containerd's restrict_oom_score_adj (what kind sets for
#    rootless) keeps the requested score at or above the current one.
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if (( ((16#${capbnd}) >> 24 & 1) == 0 )); then
  log "bounding set ${capbnd} lacks CAP_SYS_RESOURCE: setting containerd restrict_oom_score_adj = true"
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
fi

# 2. cgroup v1 hosts with controllers enabled but not mounted on the host
#    (hugetlb, net_cls/net_prio, perf_event here): docker gives the node no
#    cgroup of its own there, the node's systemd mounts the host's root cgroup,
#    and kubelet fails on the missing kubelet.slice. Unmount every v1 hierarchy
#    in which kind's entrypoint did not prepare a kubelet cgroup, so no node
#    shares host-root cgroups. A no-op on cgroup v2.
if [[ ! -f /sys/fs/cgroup/cgroup.controllers ]]; then
  while IFS= read -r mnt; do
    [[ -z "${mnt}" ]] && continue
    if [[ ! -d "${mnt}/kubelet" && ! -d "${mnt}/kubelet.slice" ]]; then
      log "unmounting ${mnt}: kind prepared no kubelet cgroup there"
      umount "${mnt}" || log "failed to unmount ${mnt}"
    fi
  done < <(findmnt -lun -o target -t cgroup)
fi
