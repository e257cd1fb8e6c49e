package dev.sandboxmetrics.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark commands the README's Performance section tells users to run, run for real at a tiny size:
 * they must start sandboxes and a server, print their tables with plausible numbers, and leave nothing
 * behind. What they measure is not asserted (machines are noisy); that they work is.
 */
class BenchScriptsIT {
  @TempDir Path tmp;

  @Test
  void endToEndBenchmarkPrintsARowPerSandboxCountAndTheExportTime() throws IOException {
    RequiredProgram.require("curl", "curl");
    Command.Result r = bench(Map.of("SCRAPES", "2", "WARMUP", "12"), "run-e2e", "2");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    String out = r.stdoutText();
    assertThat(out).contains("| sandboxes | 1-10: p50 ms | 1-10: CPU ms/scrape | 11-50: p50 ms");
    assertThat(out).contains("| sandboxes | p50 ms | p99 ms | gzip: p50 ms | gzip: p99 ms | gzip, client not inflating: p50 ms");

    // The fresh server's phases: 10 scrapes, then the 2 left of WARMUP=12, then none.
    Matcher coldRow = Pattern.compile("(?m)^\\| 2 \\|(.*)\\|$").matcher(out);
    assertThat(coldRow.find()).as(out).isTrue();
    String[] cold = coldRow.group(1).split("\\|");
    assertThat(cold).hasSize(7);
    for (int latency : new int[] {0, 2}) {
      assertThat(Double.parseDouble(cold[latency].strip())).as(coldRow.group()).isPositive();
    }
    for (int cpu : new int[] {1, 3, 6}) {
      assertThat(Double.parseDouble(cold[cpu].strip())).as(coldRow.group()).isGreaterThanOrEqualTo(0);
    }
    assertThat(cold[4].strip()).isEqualTo("-");
    assertThat(cold[5].strip()).isEqualTo("-");

    Matcher row = Pattern.compile("(?m)^\\| 2 \\|(.*)\\|$").matcher(out);
    assertThat(row.find(coldRow.end())).as(out).isTrue();
    List<Double> cells = new ArrayList<>();
    for (String cell : row.group(1).split("\\|")) {
      cells.add(Double.parseDouble(cell.strip()));
    }
    assertThat(cells).hasSize(11).allSatisfy(v -> assertThat(v).isGreaterThanOrEqualTo(0));
    assertThat(cells.get(4)).as("gzip p50 of a client that does not inflate").isPositive();
    double plainBytes = cells.get(5);
    double gzipBytes = cells.get(6);
    assertThat(plainBytes).as("two bench sandboxes render tens of KB").isGreaterThan(50_000);
    assertThat(gzipBytes).isPositive().isLessThan(plainBytes / 4);
    assertThat(cells.get(9)).as("server RSS MB").isGreaterThan(10);

    assertThat(out).containsPattern("`export-metrics` wall time \\(JVM start included, median of 5, 1 bench sandbox\\): \\d+ ms");
    assertNothingLeftBehind();
  }

  @Test
  void soakReportsRssOverTimeAndNoFailedScrapes() throws IOException {
    RequiredProgram.require("curl", "curl");
    Command.Result r = bench(
        Map.of("SANDBOXES", "2", "SECONDS_TOTAL", "4", "INTERVAL", "0.5", "SAMPLE_EVERY", "2"), "run-soak");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    String out = r.stdoutText();
    assertThat(out).contains("| elapsed s | scrapes | failed | RSS MB | peak RSS MB |");
    Matcher summary = Pattern.compile("- scrapes: (\\d+), failed: (\\d+)").matcher(out);
    assertThat(summary.find()).as(out).isTrue();
    assertThat(Integer.parseInt(summary.group(1))).isBetween(4, 9);
    assertThat(summary.group(2)).isEqualTo("0");
    assertThat(out).containsPattern("- final RSS: [0-9.]+ MB, peak RSS \\(VmHWM\\): [0-9.]+ MB");
    // Where the RSS is: every JVM maps libjvm.so, and the rows add up to a total.
    assertThat(out).containsPattern("\\| libjvm\\.so \\(code and data\\) \\| [1-9][0-9.]* \\|");
    assertThat(out).containsPattern("\\| \\*\\*total\\*\\* \\| \\*\\*[1-9][0-9.]*\\*\\* \\|");
    assertNothingLeftBehind();
  }

  @Test
  void churnSoakReplacesSandboxesWhileScrapingAndNoLiveSandboxIsMissed() throws IOException {
    RequiredProgram.require("curl", "curl");
    Command.Result r = bench(Map.of("SANDBOXES", "5", "CHURN", "2", "SECONDS_TOTAL", "6", "INTERVAL", "0.2",
        "SAMPLE_EVERY", "2"), "run-soak");
    String out = r.stdoutText();
    assertThat(out).contains("| elapsed s | scrapes | failed | RSS MB | peak RSS MB | fds | threads |");
    Matcher row = Pattern.compile("(?m)^\\| (\\d+) \\| (\\d+) \\| (\\d+) \\| ([0-9.]+) \\| ([0-9.]+) \\| (\\d+) \\| (\\d+) \\|$")
        .matcher(out);
    int rows = 0;
    while (row.find()) {
      rows++;
      assertThat(Integer.parseInt(row.group(6))).as("server fds: %s", row.group()).isGreaterThan(3);
      assertThat(Integer.parseInt(row.group(7))).as("server threads: %s", row.group()).isPositive();
    }
    assertThat(rows).as(out).isGreaterThanOrEqualTo(3);
    // About 2 a second for 6 s of scraping plus the server's start: churn happened, in equal numbers.
    Matcher churn = Pattern.compile("- churn: (\\d+) sandboxes destroyed and (\\d+) created during the run").matcher(out);
    assertThat(churn.find()).as(out).isTrue();
    assertThat(Integer.parseInt(churn.group(1))).isGreaterThanOrEqualTo(6);
    assertThat(Math.abs(Integer.parseInt(churn.group(2)) - Integer.parseInt(churn.group(1)))).isLessThanOrEqualTo(2);
    Matcher checked = Pattern.compile("- live sandboxes checked: (\\d+) over (\\d+) scrapes, missed: (\\d+)").matcher(out);
    assertThat(checked.find()).as(out).isTrue();
    assertThat(Integer.parseInt(checked.group(1))).as("at least 3 live sandboxes per scrape")
        .isGreaterThanOrEqualTo(3 * Integer.parseInt(checked.group(2)));
    assertThat(checked.group(3)).as(out).isEqualTo("0");
    assertThat(out).containsPattern("- flat from 2s to the end: fds \\d+ -> \\d+, threads \\d+ -> \\d+, RSS [0-9.]+ -> [0-9.]+ MB: (yes|no)");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertNothingLeftBehind();
  }

  @Test
  void attackRunPrintsARowPerAttackAndTheServerSurvivesEach() throws IOException {
    RequiredProgram.require("curl", "curl");
    RequiredProgram.require("python3", "python3");
    Map<String, String> tiny = Map.of("HEALTHY", "2", "DURATION", "2", "IDLE", "40", "SLOWLORIS", "10",
        "STALLED", "3", "JUNK", "20", "BIG_MB", "2", "VARIANTS", "launcher");
    Command.Result r = bench(tiny, 480, "run-hostile");
    String out = r.stdoutText();
    // Whether each attack passes at this size on a loaded machine is not asserted; that it ran is.
    assertThat(r.exitCode()).as(r.toString()).isIn(0, 1);
    assertThat(out).contains("| server | attack | healthy in every scrape | scrapes | p50 ms | max ms |");
    Matcher row = Pattern.compile("(?m)^\\| launcher \\| ([a-z-]+) \\| (yes|no) \\| (\\d+) \\|.*\\| (yes|no) \\| (pass|FAIL) \\|.*$")
        .matcher(out);
    List<String> attacks = new ArrayList<>();
    while (row.find()) {
      attacks.add(row.group(1));
      assertThat(row.group(4)).as("server up after %s:%n%s", row.group(1), out).isEqualTo("yes");
      assertThat(Integer.parseInt(row.group(3))).as("scrapes during %s", row.group(1)).isPositive();
    }
    assertThat(attacks).as(out).containsExactly("idle-connections", "fd-exhaustion", "slowloris",
        "non-reading-clients", "pipelining", "malformed-http", "regex-bombs", "faulty-sandboxes",
        "oversized-replies", "stalled-sandboxes", "hostile-root-dir");
    Matcher last = Pattern.compile("(\\d+) passed, (\\d+) failed\\s*$").matcher(out);
    assertThat(last.find()).as(out).isTrue();
    assertThat(Integer.parseInt(last.group(1)) + Integer.parseInt(last.group(2))).isEqualTo(attacks.size());
    assertThat(r.exitCode()).isEqualTo(last.group(2).equals("0") ? 0 : 1);
    assertNothingLeftBehind();
  }

  @Test
  void sideBySideRunsTwoServersAndPrintsARowPerBlock() throws IOException {
    RequiredProgram.require("curl", "curl");
    // One checkout on both sides, B with one JVM option more: the way one option is compared.
    // A round every 0.5 s: the way the cost per scrape interval, idle time included, is measured.
    long started = System.nanoTime();
    Command.Result r = bench(Map.of("SANDBOXES", "2", "BLOCKS", "2", "PER_BLOCK", "3",
        "OPTS_B", "-XX:MaxHeapFreeRatio=60", "INTERVAL", "0.5"), "run-side-by-side");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(System.nanoTime() - started).as("6 rounds 0.5 s apart").isGreaterThan(2_500_000_000L);
    String out = r.stdoutText();
    assertThat(out).contains("2 blocks of 3 gzip scrapes each, a round every 0.5 s");
    assertThat(out).contains("| block | A: CPU ms/scrape | B: CPU ms/scrape | B/A | A: GCs | B: GCs |");
    // Where the CPU went, by thread: the server's own threads and the JVM's, for both sides.
    assertThat(out).contains("| thread | A: ms/scrape | B: ms/scrape |");
    // The event loops and the workers each have a row of their own (their kernel names differ).
    assertThat(out).containsPattern("(?m)^\\| sm-io-\\d+-\\d+ \\| \\d+\\.\\d\\d \\| \\d+\\.\\d\\d \\|$");
    assertThat(out).containsPattern("(?m)^\\| sm-worker-\\d+-\\d+ \\| \\d+\\.\\d\\d \\| \\d+\\.\\d\\d \\|$");
    assertThat(out).containsPattern("- B: \\S+ \\(\\w+\\), plus -XX:MaxHeapFreeRatio=60");
    Matcher row = Pattern.compile("(?m)^\\| (\\d+) \\|(.*)\\|$").matcher(out);
    List<Integer> blocks = new ArrayList<>();
    while (row.find()) {
      blocks.add(Integer.parseInt(row.group(1)));
      String[] cells = row.group(2).split("\\|");
      assertThat(cells).as(row.group()).hasSize(11);
      for (int rss : new int[] {7, 8}) {
        assertThat(Double.parseDouble(cells[rss].strip())).as("RSS MB: %s", row.group()).isGreaterThan(10);
      }
      for (int p50 : new int[] {9, 10}) {
        assertThat(Double.parseDouble(cells[p50].strip())).as("p50 ms: %s", row.group()).isPositive();
      }
    }
    assertThat(blocks).as(out).containsExactly(1, 2);
    assertNothingLeftBehind();
  }

  @Test
  void badArgumentsAreUsageErrors() {
    Command.Result count = bench(Map.of(), "run-e2e", "0");
    assertThat(count.exitCode()).isEqualTo(2);
    assertThat(count.stderr()).contains("'0' is not a positive integer");
    Command.Result interval = bench(Map.of("INTERVAL", "soon"), "run-soak");
    assertThat(interval.exitCode()).isEqualTo(2);
    assertThat(interval.stderr()).contains("INTERVAL 'soon' is not a number");
    Command.Result churn = bench(Map.of("CHURN", "-1"), "run-soak");
    assertThat(churn.exitCode()).isEqualTo(2);
    assertThat(churn.stderr()).contains("CHURN '-1' is not a non-negative integer");
    Command.Result blocks = bench(Map.of("BLOCKS", "0"), "run-side-by-side");
    assertThat(blocks.exitCode()).isEqualTo(2);
    assertThat(blocks.stderr()).contains("BLOCKS '0' is not a positive integer");
    Command.Result every = bench(Map.of("INTERVAL", "15s"), "run-side-by-side");
    assertThat(every.exitCode()).isEqualTo(2);
    assertThat(every.stderr()).contains("INTERVAL '15s' is not a number of seconds");
    Command.Result encoding = bench(Map.of("ENCODING", "br"), "run-side-by-side");
    assertThat(encoding.exitCode()).isEqualTo(2);
    assertThat(encoding.stderr()).contains("ENCODING 'br' is neither gzip nor identity");
    Command.Result attack = bench(Map.of("ATTACKS", "teardrop"), "run-hostile");
    assertThat(attack.exitCode()).isEqualTo(2);
    assertThat(attack.stderr()).contains("unknown attack 'teardrop'");
  }

  /** Runs bench/NAME with its temporary files under our temporary directory and the jar as built. */
  private Command.Result bench(Map<String, String> env, String name, String... args) {
    return bench(env, 240, name, args);
  }

  private Command.Result bench(Map<String, String> env, long limitSeconds, String name, String... args) {
    List<String> command = new ArrayList<>(List.of("env", "TMPDIR=" + tmp, "SANDBOX_METRICS_NO_BUILD=1"));
    env.forEach((k, v) -> command.add(k + "=" + v));
    command.add(RepoRoot.path().resolve("bench").resolve(name).toString());
    command.addAll(List.of(args));
    return Command.run(command, null, limitSeconds);
  }

  /** The scripts remove their temporary directory and stop what they started. */
  private void assertNothingLeftBehind() throws IOException {
    try (Stream<Path> left = Files.list(tmp)) {
      assertThat(left.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("sm-"))).isEmpty();
    }
  }
}
