"""Dask distributed's side of `npm run bench:runtime`.

Runs the same five measurements as the launchbay side on a LocalCluster with the same
number of worker processes and threads, and prints one JSON object on stdout:

    python dask_bench.py --workers 2 --threads 1 --tasks 20000 --round-trips 1000 \
        --chain 1000 --transfer-mb 100 --held 100000
"""

import argparse
import json
import os
import statistics
import sys
import time
import warnings

# Dask prints tips and warnings (e.g. about large graphs) to stderr; keep stdout JSON only.
warnings.filterwarnings("ignore")


def noop(x):
    return x


def inc(x):
    return x + 1


def make_bytes(n):
    return b"\x01" * n


def size_of(b):
    return len(b)


def scheduler_rss():
    import psutil

    return psutil.Process().memory_info().rss


def percentile(sorted_values, q):
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--round-trips", type=int, default=1000)
    parser.add_argument("--chain", type=int, default=1000)
    parser.add_argument("--transfer-mb", type=int, default=100)
    parser.add_argument("--held", type=int, default=100000)
    args = parser.parse_args()

    from distributed import Client, LocalCluster, wait

    result = {"version": __import__("distributed").__version__}
    with LocalCluster(
        n_workers=args.workers,
        threads_per_worker=args.threads,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        silence_logs=50,
    ) as cluster, Client(cluster) as client:
        client.wait_for_workers(args.workers)
        workers = sorted(client.scheduler_info()["workers"].keys())

        # (a) tiny-task throughput via map
        # warm-up: the same count as the launchbay side (a quarter of the run, at most 5,000)
        client.gather(client.map(noop, range(min(5000, -(-args.tasks // 4))), pure=False))
        start = time.perf_counter()
        futures = client.map(noop, range(args.tasks), pure=False)
        client.gather(futures)
        elapsed = time.perf_counter() - start
        result["throughput_tasks_per_s"] = args.tasks / elapsed
        del futures

        # (b) sequential submit -> result round trip
        for i in range(100):
            client.submit(inc, i, pure=False).result()
        samples = []
        for i in range(args.round_trips):
            t0 = time.perf_counter()
            client.submit(inc, i, pure=False).result()
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        result["round_trip_p50_ms"] = percentile(samples, 0.5)
        result["round_trip_p99_ms"] = percentile(samples, 0.99)

        # (c) dependency chain
        start = time.perf_counter()
        f = client.submit(inc, 0, pure=False)
        for _ in range(args.chain - 1):
            f = client.submit(inc, f, pure=False)
        value = f.result()
        result["chain_s"] = time.perf_counter() - start
        assert value == args.chain, value
        del f

        # (d) worker-to-worker transfer: made on worker A, consumed on worker B
        if len(workers) >= 2:
            nbytes = args.transfer_mb * 1_000_000
            best = None
            for _ in range(3):
                a = client.submit(make_bytes, nbytes, workers=[workers[0]], pure=False)
                wait(a)
                start = time.perf_counter()
                b = client.submit(size_of, a, workers=[workers[1]], allow_other_workers=False, pure=False)
                assert b.result() == nbytes
                elapsed = time.perf_counter() - start
                best = elapsed if best is None else min(best, elapsed)
                del a, b
            result["transfer_gb_per_s"] = nbytes / best / 1e9

        # (e) scheduler memory with many tasks held
        before = client.run_on_scheduler(scheduler_rss)
        held = client.map(noop, range(args.held), pure=False)
        wait(held)
        after = client.run_on_scheduler(scheduler_rss)
        result["scheduler_rss_delta_mib"] = (after - before) / 2**20
        result["held_tasks"] = args.held
        del held

    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    # Skip interpreter teardown: the cluster is closed; worker process reaping is done.
    os._exit(0)


if __name__ == "__main__":
    main()
