package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Whatever the fast path accepts, picocli must parse to the same values; the usual lines must be accepted. */
class ExportMetricsFastPathTest {
  /** Arguments before the subcommand, each a whole flag or a flag and its value. */
  private static final String[][] GLOBAL = {
    {"--root=/r"}, {"--root", "/r2"}, {"-root=/r3"}, {"-root", "/r4"}, {"--root="}, {"--root", ""},
    {"--metric-server=localhost:1337"}, {"-metric-server", "/run/m.sock"}, {"--debug"}, {"-debug"},
    {"--debug=false"}, {"--debug=TRUE"}, {"--debug=yes"}, {"--debug", "true"}, {"--debug", "False"},
    {"--debug-log=/tmp/l/"}, {"--debug-log", "/tmp/x.log"}, {"--root"}, {"--root", "--debug"},
    {"--root", "export-metrics"}, {"--bogus"}, {"-h"}, {"--help"}, {"--version"}, {"-V"}, {"--"},
    {"@args.txt"}, {"-"}, {"--root", "@x"}, {"--metric-server"},
  };

  /** Arguments after it. */
  private static final String[][] COMMAND = {
    {"id1"}, {"id2"}, {""}, {"abc-def"}, {"--exporter-prefix=p_"}, {"--exporter-prefix", "q_"},
    {"-exporter-prefix=r_"}, {"--exporter-prefix="}, {"--exporter-prefix=--x"}, {"--sandbox-metrics-filter=^fs_"},
    {"-sandbox-metrics-filter", "a|b"}, {"--sandbox-metrics-filter", "(unclosed"}, {"--timeout=5s"},
    {"--timeout", "1m30s"}, {"-timeout=250ms"}, {"--timeout=0"}, {"--timeout=-2s"}, {"--timeout=soon"},
    {"--timeout", "10"}, {"--max-reply-bytes=1024"}, {"--max-reply-bytes", "0"}, {"--max-reply-bytes=-1"},
    {"--max-reply-bytes=010"}, {"--max-reply-bytes=0x10"}, {"--max-reply-bytes=+5"},
    {"--max-reply-bytes=99999999999"}, {"--max-reply-bytes=2147483647"}, {"--max-reply-bytes="},
    {"--verify"}, {"-verify"}, {"--verify=false"}, {"--verify=True"}, {"--verify", "true"}, {"--verify", "FALSE"},
    {"--verify=1"}, {"--verify", "id3"}, {"--timeout"}, {"--exporter-prefix", "-x"}, {"-h"}, {"--help"},
    {"--version"}, {"--"}, {"--", "-id"}, {"@file"}, {"--bogus"}, {"-x"}, {"--root=/late"}, {"metric-server"},
    {"export-metrics"}, {"--exporter-prefix", "export-metrics"},
  };

  @Test
  void theUsualCommandLinesTakeTheFastPath() {
    for (String line : new String[] {
      "--root=/var/run/runsc export-metrics abc",
      "--root /r export-metrics abc",
      "-root=/r -debug export-metrics -exporter-prefix=p_ abc",
      "-root /r --metric-server=localhost:1337 export-metrics --sandbox-metrics-filter=^fs_ --timeout=5s abc",
      "--debug-log=/tmp/logs/ export-metrics --verify abc --max-reply-bytes=1024",
      "export-metrics abc",
    }) {
      assertThat(fast(line.split(" "))).as(line).isNotNull();
      assertSameAsPicocli(line.split(" "));
    }
  }

  @Test
  void whatThePathDeclinesIsLeftToPicocli() {
    for (String line : new String[] {
      "export-metrics", "export-metrics a b", "export-metrics --help", "--help export-metrics a", "-- export-metrics a",
      "export-metrics --timeout=soon a", "export-metrics @args", "--bogus export-metrics a", "export-metrics --verify true a",
      "export-metrics --max-reply-bytes=0x10 a", "metric-server", "--root export-metrics a",
    }) {
      assertThat(fast(line.split(" "))).as(line).isNull();
    }
  }

  @Test
  void generatedCommandLinesParseAlikeWhereverTheFastPathAcceptsThem() {
    int accepted = FastPathDifferential.generatedLines(6, GLOBAL, "export-metrics", COMMAND,
        ExportMetricsFastPathTest::assertSameAsPicocli);
    assertThat(accepted).as("command lines the fast path took").isGreaterThan(200);
  }

  private static ExportMetricsCommand fast(String... rawArgs) {
    return ExportMetricsFastPath.parse(new Main(), rawArgs);
  }

  /** True when the fast path accepted the line (and then picocli agreed). */
  private static boolean assertSameAsPicocli(String... rawArgs) {
    ExportMetricsCommand fast = fast(rawArgs);
    if (fast == null) {
      return false;
    }
    String line = String.join(" ", rawArgs);
    ExportMetricsCommand slow = FastPathDifferential.picocliCommand(rawArgs, fast.global);
    assertThat(List.of(fast.exporterPrefix, fast.sandboxMetricsFilter, fast.timeout, fast.maxReplyBytes, fast.verify,
        fast.containerId))
        .as(line).isEqualTo(List.of(slow.exporterPrefix, slow.sandboxMetricsFilter, slow.timeout, slow.maxReplyBytes,
            slow.verify, slow.containerId));
    return true;
  }
}
