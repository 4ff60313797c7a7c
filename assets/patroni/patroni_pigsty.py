"""Patroni as pigsty runs it: `python3 -m patroni_pigsty <patroni.yml>`.

Patroni 4.0 talks to etcd through its gRPC gateway and reads the errors in
the shape etcd 3.5 gives them: {"error": "...", "code": N}, and on streams
{"error": {"grpc_code": N, "message": "..."}}. etcd 3.6, which pigsty
embeds, answers {"code": N, "message": "..."} and {"error": {"code": N,
"message": "..."}}. Patroni then sees neither "invalid auth token" nor
"revision of auth store is old" for what they are, never authenticates
again, and a leader whose token was retired (a user added for another
cluster, a password changed, an etcd member restarted) loses its lock for
good. This module translates the new shapes into the old ones before
Patroni reads them, lets the lease keepalive authenticate again like every
other call, and then runs Patroni unchanged.

It also gives Patroni's HA loop a thread pool that cannot hang: Patroni asks
the other members in parallel (the failsafe check of a leader cut off from
etcd, the member statuses of an election) through multiprocessing's
ThreadPool, whose close() and join() were seen to block for good — a
leader whose link was cut sat in check_failsafe_topology for minutes, never
demoted and never rejoined after the link came back.
"""
import sys
from concurrent.futures import ThreadPoolExecutor

from patroni.dcs import etcd3

_raise_for_data = etcd3._raise_for_data


def _etcd35_shape(data):
    if not isinstance(data, dict):
        return data
    error = data.get('error')
    if isinstance(error, dict):
        if 'grpc_code' not in error and 'code' in error:
            return {'error': dict(error, grpc_code=error['code'])}
        return data
    if error is None and 'message' in data and 'code' in data:
        return {'error': data['message'], 'code': data['code']}
    return data


def raise_for_data(data, status_code=None):
    return _raise_for_data(_etcd35_shape(data), status_code)


class ThreadPool:
    """What Patroni uses of multiprocessing's ThreadPool: map, close, join."""

    def __init__(self, processes):
        self._executor = ThreadPoolExecutor(max_workers=max(1, processes))

    def map(self, func, iterable):
        return list(self._executor.map(func, iterable))

    def close(self):
        pass

    def join(self):
        self._executor.shutdown(wait=True)


def patch():
    etcd3._raise_for_data = raise_for_data
    # patroni.ha cannot be imported first: async_executor must come
    # before it, as Patroni's own imports have it.
    from patroni import async_executor  # noqa: F401
    from patroni import ha
    ha.ThreadPool = ThreadPool
    client = etcd3.Etcd3Client
    if not getattr(client.lease_keepalive, '_pigsty', False):
        keepalive = etcd3._handle_auth_errors(client.lease_keepalive)
        keepalive._pigsty = True
        client.lease_keepalive = keepalive


def main():
    patch()
    from patroni.__main__ import main as patroni_main
    sys.argv[0] = 'patroni'
    patroni_main()


if __name__ == '__main__':
    main()
