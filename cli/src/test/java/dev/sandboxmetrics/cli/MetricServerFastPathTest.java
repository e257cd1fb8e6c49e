package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Whatever the metric-server fast path accepts, picocli must parse to the same values (defaults included);
 * the usual lines must be accepted, and the rest left to picocli.
 */
class MetricServerFastPathTest {
  /** Arguments before the subcommand, each a whole flag or a flag and its value. */
  private static final String[][] GLOBAL = {
    {"--root=/r"}, {"--root", "/r2"}, {"-root=/r3"}, {"-root", "/r4"}, {"--root="},
    {"--metric-server=localhost:1337"}, {"-metric-server", "/run/m.sock"}, {"--metric-server=:9100"},
    {"--debug"}, {"-debug"}, {"--debug=false"}, {"--debug=TRUE"}, {"--debug=yes"}, {"--debug", "true"},
    {"--debug-log=/tmp/l/"}, {"--debug-log", "/tmp/x.log"}, {"--root"}, {"--root", "--debug"},
    {"--root", "metric-server"}, {"--bogus"}, {"-h"}, {"--help"}, {"--version"}, {"-V"}, {"--"},
    {"@args.txt"}, {"-"}, {"--metric-server"},
  };

  /** Arguments after it. */
  private static final String[][] COMMAND = {
    {"--exporter-prefix=p_"}, {"--exporter-prefix", "q_"}, {"-exporter-prefix=r_"}, {"--exporter-prefix="},
    {"--pid-file=/run/p.pid"}, {"--pid-file", "rel/p"}, {"-pid-file="}, {"--pid-file=a\0b"},
    {"--allow-profiling"}, {"-allow-profiling"}, {"--allow-profiling=false"}, {"--allow-profiling", "true"},
    {"--allow-profiling=1"}, {"--allow-unknown-root"}, {"--allow-unknown-root=True"},
    {"--export-timeout=5s"}, {"--export-timeout", "1m30s"}, {"-export-timeout=250ms"}, {"--export-timeout=0"},
    {"--export-timeout=-2s"}, {"--export-timeout=soon"}, {"--export-timeout", "10"},
    {"--sandbox-timeout=2s"}, {"--rescan-interval=5s"}, {"--rescan-interval", "1h"}, {"--http-timeout=30s"},
    {"--max-parallel-queries=16"}, {"--max-parallel-queries", "0"}, {"--max-parallel-queries=010"},
    {"--max-reply-bytes=1024"}, {"--max-reply-bytes=-1"}, {"--max-reply-bytes=0x10"}, {"--max-reply-bytes=+5"},
    {"--max-reply-bytes=99999999999"}, {"--max-reply-bytes=2147483647"}, {"--max-reply-bytes="},
    {"--max-reply-bytes-in-flight=67108864"}, {"--max-reply-bytes-in-flight", "99999999999"},
    {"--max-reply-bytes-in-flight=9223372036854775807"}, {"--max-series-per-sandbox=5000"},
    {"--max-series-per-sandbox=-3"}, {"--gzip-level=0"}, {"--gzip-level", "9"}, {"--gzip-level=10"},
    {"--self-metrics"}, {"--self-metrics=false"}, {"-self-metrics=FALSE"}, {"--self-metrics", "false"},
    {"--max-connections=10"}, {"--socket-mode=0660"}, {"--socket-mode", "777"}, {"--socket-mode=rw"},
    {"--allow-peer-uid=0"}, {"--allow-peer-uid", "1000,1001"}, {"--allow-peer-uid=1,,2"}, {"--allow-peer-uid=x"},
    {"-allow-peer-gid=100"}, {"--allow-peer-gid=5,6"}, {"--container-stats"}, {"--container-stats=false"},
    {"--cgroup-root=/host/sys/fs/cgroup"}, {"--cgroup-root", "/cg"}, {"--timeout"}, {"--exporter-prefix", "-x"},
    {"-h"}, {"--help"}, {"--version"}, {"--"}, {"@file"}, {"--bogus"}, {"-x"}, {"--root=/late"}, {"extra"},
    {"metric-server"}, {"export-metrics"}, {"--exporter-prefix", "metric-server"},
  };

  @Test
  void theUsualCommandLinesTakeTheFastPath() {
    for (String line : new String[] {
      "--root=/var/run/runsc --metric-server=localhost:1337 metric-server",
      "--root /r --metric-server /r/m.sock metric-server --pid-file=/r/p --allow-unknown-root",
      "-root=/r -metric-server=:9100 -debug metric-server -exporter-prefix=p_ -allow-profiling",
      "--root=/r --metric-server=/r/m.sock metric-server --container-stats --cgroup-root=/host/cg "
          + "--allow-peer-uid=0,1000 --allow-peer-uid=7 --allow-peer-gid=5 --socket-mode=0660 --gzip-level=6 "
          + "--self-metrics=false --max-connections=50 --rescan-interval=5s --http-timeout=30s "
          + "--export-timeout=20s --sandbox-timeout=2s --max-parallel-queries=64 --max-reply-bytes=4096 "
          + "--max-reply-bytes-in-flight=8192 --max-series-per-sandbox=5000",
      "metric-server",
      // deploy/systemd/sandbox-metrics.service and deploy/kubernetes/sandbox-metrics.yaml
      "--root=/var/run/docker/runtime-runc/moby --metric-server=localhost:1337 metric-server",
      "--root=/run/containerd/runsc/k8s.io --metric-server=/run/sandbox-metrics/metrics.sock metric-server "
          + "--socket-mode=0600 --allow-peer-uid=0 --container-stats --cgroup-root=/host/sys/fs/cgroup",
    }) {
      assertThat(fast(line.split(" "))).as(line).isNotNull();
      assertSameAsPicocli(line.split(" "));
    }
  }

  @Test
  void whatThePathDeclinesIsLeftToPicocli() {
    for (String line : new String[] {
      "metric-server --help", "--help metric-server", "-- metric-server", "metric-server extra",
      "metric-server --export-timeout=soon", "metric-server @args", "--bogus metric-server",
      "metric-server --allow-profiling true", "metric-server --gzip-level=0x1", "metric-server --allow-peer-uid=1,,2",
      "export-metrics a", "--root metric-server", "metric-server --root=/late",
    }) {
      assertThat(fast(line.split(" "))).as(line).isNull();
    }
  }

  @Test
  void generatedCommandLinesParseAlikeWhereverTheFastPathAcceptsThem() {
    int accepted = FastPathDifferential.generatedLines(13, GLOBAL, "metric-server", COMMAND,
        MetricServerFastPathTest::assertSameAsPicocli);
    assertThat(accepted).as("command lines the fast path took").isGreaterThan(200);
  }

  private static MetricServerCommand fast(String... rawArgs) {
    return MetricServerFastPath.parse(new Main(), rawArgs);
  }

  /** True when the fast path accepted the line (and then picocli agreed). */
  private static boolean assertSameAsPicocli(String... rawArgs) {
    MetricServerCommand fast = fast(rawArgs);
    if (fast == null) {
      return false;
    }
    String line = String.join(" ", rawArgs);
    MetricServerCommand slow = FastPathDifferential.picocliCommand(rawArgs, fast.global);
    assertThat(values(fast)).as(line).isEqualTo(values(slow));
    return true;
  }

  private static List<Object> values(MetricServerCommand c) {
    return Arrays.asList(c.exporterPrefix, c.pidFile, c.allowProfiling, c.allowUnknownRoot, c.exportTimeout,
        c.sandboxTimeout, c.maxParallelQueries, c.maxReplyBytes, c.maxReplyBytesInFlight, c.maxSeriesPerSandbox,
        c.rescanInterval, c.httpTimeout, c.gzipLevel, c.selfMetrics, c.maxConnections, c.socketMode, c.allowPeerUids,
        c.allowPeerGids, c.containerStats, c.cgroupRoot);
  }
}
