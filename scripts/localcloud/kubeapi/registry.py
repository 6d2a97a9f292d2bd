"""Every cluster's Kubernetes API, by (account, region, name): what the
launcher's EKS hooks create, describe and remove, and what the admin API finds."""

from __future__ import annotations

import logging
import threading

from .cluster import KubeCluster

log = logging.getLogger("local-cloud.kube")


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clusters: dict[tuple[str, str, str], KubeCluster] = {}

    def create(self, account: str, region: str, name: str) -> KubeCluster:
        """A fresh API for the cluster; one already there (a recreated cluster) is stopped."""
        cluster = KubeCluster(account, region, name)
        with self._lock:
            old = self._clusters.pop((account, region, name), None)
            self._clusters[(account, region, name)] = cluster
        if old is not None:
            old.stop()
        log.info("kube %s (%s): Kubernetes API on %s", name, region, cluster.endpoint)
        return cluster

    def get(self, account: str, region: str, name: str) -> KubeCluster | None:
        with self._lock:
            return self._clusters.get((account, region, name))

    def remove(self, account: str, region: str, name: str) -> None:
        with self._lock:
            cluster = self._clusters.pop((account, region, name), None)
        if cluster is not None:
            # shutdown() waits for a poll interval: not in the caller's (moto's) request.
            threading.Thread(target=cluster.stop, daemon=True).start()
            log.info("kube %s (%s): stopped", name, region)

    def remove_region(self, account: str, region: str) -> None:
        with self._lock:
            keys = [key for key in self._clusters if key[0] == account and key[1] == region]
        for key in keys:
            self.remove(*key)

    def find(self, name: str, region: str | None = None) -> list[KubeCluster]:
        """Clusters named ``name`` in any account (in ``region`` if given)."""
        with self._lock:
            return [
                cluster
                for (_, cluster_region, cluster_name), cluster in self._clusters.items()
                if cluster_name == name and (region is None or cluster_region == region)
            ]

    def all(self) -> list[KubeCluster]:
        with self._lock:
            return list(self._clusters.values())


REGISTRY = Registry()
