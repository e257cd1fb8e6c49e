package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** runsc's global flags in front of the subcommand, parsed as Go's flag package parses them. */
class RunscFlagsTest {
  @Test
  void runscFlagsInEveryGoSpellingAreTakenOutBeforeTheSubcommand() throws Exception {
    RunscFlags.Split s = RunscFlags.split(new String[] {
      "--platform=kvm", "-network", "host", "--alsologtostderr", "-systemd-cgroup=false", "--log", "/tmp/runsc.log",
      "--root=/r", "-debug-log", "/d/", "--log-format", "json", "export-metrics", "--platform", "x"});
    assertThat(s.rest()).containsExactly("--root=/r", "-debug-log", "/d/", "export-metrics", "--platform", "x");
    RunscFlags f = s.flags();
    assertThat(f.get("platform")).isEqualTo("kvm");
    assertThat(f.get("network")).isEqualTo("host");
    assertThat(f.alsoLogToStderr()).isTrue();
    assertThat(f.get("systemd-cgroup")).isEqualTo("false");
    assertThat(f.errorLog()).isEqualTo("/tmp/runsc.log");
    assertThat(f.ignored()).containsExactly("--platform=kvm", "--network=host", "--systemd-cgroup=false",
        "--log-format=json");
  }

  @Test
  void theSubcommandIsTheFirstArgumentThatNamesOneAsForTheLauncher() throws Exception {
    RunscFlags.Split s = RunscFlags.split(new String[] {
      "-platform", "kvm", "-debug", "-debug-log", "/d/", "-root", "/r", "export-metrics", "metric-server"});
    assertThat(s.subcommand()).isEqualTo("export-metrics");
    assertThat(s.rest()).containsExactly("-debug", "-debug-log", "/d/", "-root", "/r", "export-metrics",
        "metric-server");
    // A runsc flag's value is its value, even when it names a command.
    RunscFlags.Split v = RunscFlags.split(new String[] {"--debug-command", "demo", "--debug", "true", "demo"});
    assertThat(v.subcommand()).isEqualTo("demo");
    assertThat(v.flags().get("debug-command")).isEqualTo("demo");
    assertThat(v.rest()).containsExactly("--debug", "true", "demo");
    assertThat(RunscFlags.split(new String[] {"--debug-log=/x.log", "--", "demo"}).subcommand()).isEmpty();
    assertThat(RunscFlags.split(new String[] {"--root=/r", "exprt-metrics", "x"}).subcommand()).isEmpty();
  }

  @Test
  void booleansTakeGoSyntaxAndNeverTheNextArgument() throws Exception {
    assertThat(RunscFlags.split(new String[] {"-rootless", "true"}).rest()).containsExactly("true");
    for (String t : new String[] {"1", "t", "T", "TRUE", "true", "True"}) {
      assertThat(RunscFlags.split(new String[] {"--rootless=" + t}).flags().get("rootless")).isEqualTo("true");
    }
    for (String f : new String[] {"0", "f", "F", "FALSE", "false", "False"}) {
      assertThat(RunscFlags.split(new String[] {"-rootless=" + f}).flags().get("rootless")).isEqualTo("false");
    }
    assertThatThrownBy(() -> RunscFlags.split(new String[] {"--rootless=yes", "metric-server"}))
        .isInstanceOf(RunscFlags.UsageException.class)
        .hasMessage("invalid boolean value \"yes\" for -rootless: parse error");
  }

  @Test
  void valuedFlagTakesTheNextArgumentWhateverItIsAndALaterOneWins() throws Exception {
    RunscFlags f = RunscFlags.split(new String[] {"--panic-log", "-", "--platform=ptrace", "--platform", "kvm"}).flags();
    assertThat(f.get("panic-log")).isEqualTo("-");
    assertThat(f.get("platform")).isEqualTo("kvm");
    assertThatThrownBy(() -> RunscFlags.split(new String[] {"--root=/r", "--platform"}))
        .isInstanceOf(RunscFlags.UsageException.class).hasMessage("flag needs an argument: -platform");
  }

  @Test
  void oursUnknownOnesAndEverythingAfterTheSubcommandOrDoubleDashAreLeftAlone() throws Exception {
    String[] args = {"--root", "/r", "--debug", "true", "--metric-server", ":9", "--bogus", "-h", "--",
      "--platform=kvm"};
    assertThat(RunscFlags.split(args).rest()).containsExactly(args);
    assertThat(RunscFlags.split(args).flags()).isSameAs(RunscFlags.NONE);
  }

  @Test
  void debugCommandFiltersAsRunscDoes() throws Exception {
    assertThat(flags().isDebugCommand("export-metrics")).isTrue();
    assertThat(flags("--debug-command=create,export-metrics").isDebugCommand("export-metrics")).isTrue();
    assertThat(flags("--debug-command=create,start").isDebugCommand("export-metrics")).isFalse();
    assertThat(flags("--debug-command=!boot").isDebugCommand("metric-server")).isTrue();
    assertThat(flags("--debug-command=!boot,metric-server").isDebugCommand("metric-server")).isFalse();
  }

  @Test
  void errorLogLinesAreRunscsJson() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    RunscFlags.appendError(out, "sandbox \"a\"\tis gone\\");
    assertThat(out.toString(StandardCharsets.UTF_8)).matches(
        "\\{\"msg\":\"sandbox \\\\\"a\\\\\"\\\\tis gone\\\\\\\\\",\"level\":\"error\",\"time\":\"\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\"}\n");
  }

  @Test
  void ourGlobalOptionsAndRunscsAreDisjoint() {
    Set<String> mainOptions = Set.of("root", "metric-server", "debug", "debug-log", "help", "version");
    assertThat(RunscFlags.BOOLEAN).doesNotContainAnyElementsOf(mainOptions).doesNotContainAnyElementsOf(RunscFlags.VALUED);
    assertThat(RunscFlags.VALUED).doesNotContainAnyElementsOf(mainOptions);
  }

  private static Set<String> concat(Set<String> a, Set<String> b) {
    Set<String> all = new TreeSet<>(a);
    all.addAll(b);
    return all;
  }

  private static RunscFlags flags(String... args) throws RunscFlags.UsageException {
    return RunscFlags.split(args).flags();
  }
}
