package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.runsc.control.BlockingControlClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine;

/** The parsing pieces of the CLI in-process; the packaged executable is tested by the *IT classes. */
class FlagParsingTest {
  private static final Set<String> NAMES = Set.of("root", "debug", "exporter-prefix");

  @Test
  void goSingleDashLongFlagsBecomeDoubleDash() {
    assertThat(GoFlags.normalize(new String[] {"-root=/r", "-debug", "export-metrics", "-exporter-prefix", "p_", "id"},
        NAMES)).containsExactly("--root=/r", "--debug", "export-metrics", "--exporter-prefix", "p_", "id");
  }

  @Test
  void shortOptionsUnknownNamesAndEverythingAfterDoubleDashAreLeftAlone() {
    assertThat(GoFlags.normalize(new String[] {"-h", "-V", "-rootless", "--root", "x", "--", "-root"}, NAMES))
        .containsExactly("-h", "-V", "-rootless", "--root", "x", "--", "-root");
  }

  @Test
  void globalAndSubcommandOptionsParseInEverySpelling() {
    ParseResult r = Main.parse("-root", "/r", "-debug=true", "export-metrics", "-exporter-prefix=p_",
        "-timeout", "1m30s", "-verify", "abc");
    Main main = (Main) r.commandSpec().userObject();
    assertThat(main.root).isEqualTo("/r");
    assertThat(main.debug).isTrue();
    ExportMetricsCommand export = (ExportMetricsCommand) r.subcommand().commandSpec().userObject();
    assertThat(export.exporterPrefix).isEqualTo("p_");
    assertThat(export.timeout).isEqualTo(Duration.ofSeconds(90));
    assertThat(export.verify).isTrue();
    assertThat(export.containerId).isEqualTo("abc");
  }

  @Test
  void aGlobalValueThatNamesACommandNeedsAnEqualsSignAndTheMessageSaysSo() throws Exception {
    // As Main.run parses: only the model of the command RunscFlags.split found.
    String[] withEquals = {"--root=demo", "export-metrics", "x"};
    assertThat(Main.commandLine(new Main(), RunscFlags.split(withEquals).subcommand(), false).parseArgs(withEquals)
        .matchedOptionValue("--root", "")).isEqualTo("demo");
    String[] without = {"--root", "demo", "export-metrics", "x"};
    CommandLine asRun = Main.commandLine(new Main(), RunscFlags.split(without).subcommand(), false);
    assertThatThrownBy(() -> asRun.parseArgs(without))
        .isInstanceOfSatisfying(CommandLine.ParameterException.class, e -> assertThat(Main.usageMessage(e))
            .isEqualTo("Expected parameter for option '--root' but found 'demo'; a value that names a command "
                + "needs '=': --root=demo"));
  }

  @Test
  void laterFlagWinsAsInGo() {
    ParseResult r = Main.parse("-debug", "-debug=false", "--root=/a", "--root=/b", "export-metrics", "x");
    Main main = (Main) r.commandSpec().userObject();
    assertThat(main.debug).isFalse();
    assertThat(main.root).isEqualTo("/b");
  }

  @Test
  void defaultsAreRunscs() {
    ParseResult r = Main.parse("export-metrics", "x");
    ExportMetricsCommand export = (ExportMetricsCommand) r.subcommand().commandSpec().userObject();
    assertThat(export.exporterPrefix).isEqualTo("runsc_");
    assertThat(export.sandboxMetricsFilter).isEmpty();
    assertThat(export.maxReplyBytes).isEqualTo(BlockingControlClient.DEFAULT_MAX_REPLY_BYTES); // 8 MiB
    assertThat(export.verify).isFalse();
  }

  /**
   * Every long option of every command, whoever adds it, also works in Go's one-dash spelling: the names
   * come from the models, so no list has to be kept.
   */
  @Test
  void everyLongOptionOfEveryCommandTakesGoSpelling() {
    int checked = 0;
    for (String sub : Main.SUBCOMMANDS) {
      CommandSpec spec = Main.commandLine(new Main(), sub, false).getSubcommands().get(sub).getCommandSpec();
      for (OptionSpec option : spec.options()) {
        String longName = option.longestName();
        if (!longName.startsWith("--") || option.usageHelp() || option.versionHelp()) {
          continue;
        }
        String go = longName.substring(1) + (option.typeInfo().isBoolean() ? "" : "=1");
        try {
          Main.parse(sub, go);
        } catch (CommandLine.UnmatchedArgumentException e) {
          throw new AssertionError(sub + " " + go + ": " + e.getMessage(), e);
        } catch (CommandLine.ParameterException e) {
          // A value this option does not take, or a missing positional: parsed as that option all the same.
          assertThat(e.getMessage()).as(sub + " " + go).doesNotContain("Unknown option");
        }
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(20);
  }

  @Test
  void everySubcommandIsRegisteredUnderItsOwnName() {
    CommandLine all = Main.commandLine(new Main(), "", true);
    assertThat(all.getSubcommands().keySet()).containsExactlyElementsOf(Main.SUBCOMMANDS);
    for (String name : Main.SUBCOMMANDS) {
      assertThat(all.getSubcommands().get(name).getCommandSpec().name()).isEqualTo(name);
      assertThat(Main.commandLine(new Main(), name, false).getSubcommands().keySet()).containsExactly(name);
    }
    assertThat(Main.commandLine(new Main(), "no-such", false).getSubcommands()).isEmpty();
  }

  private static void collectLongNames(CommandSpec spec, Set<String> names) {
    for (OptionSpec o : spec.options()) {
      for (String n : o.names()) {
        if (n.startsWith("--")) {
          names.add(n.substring(2));
        }
      }
    }
    for (CommandLine sub : spec.subcommands().values()) {
      collectLongNames(sub.getCommandSpec(), names);
    }
  }

  @Test
  void goDurations() {
    assertThat(GoDurationConverter.parse("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(GoDurationConverter.parse("1.5m")).isEqualTo(Duration.ofSeconds(90));
    assertThat(GoDurationConverter.parse("1h2m3s4ms5us6ns"))
        .isEqualTo(Duration.ofHours(1).plusMinutes(2).plusSeconds(3).plusMillis(4).plusNanos(5006));
    assertThat(GoDurationConverter.parse("250\u00b5s")).isEqualTo(Duration.ofNanos(250_000));
    assertThat(GoDurationConverter.parse("0")).isEqualTo(Duration.ZERO);
    assertThat(GoDurationConverter.parse("-2s")).isEqualTo(Duration.ofSeconds(-2));
    for (String bad : new String[] {"", "10", "s", "1x", "1.2.3s", "--1s"}) {
      assertThatThrownBy(() -> GoDurationConverter.parse(bad)).as(bad).isInstanceOf(TypeConversionException.class);
    }
  }

  @Test
  void debugLogPatternFollowsRunsc() {
    assertThat(Main.debugLogFile("/var/log/runsc/", "export-metrics").getFileName().toString())
        .matches("runsc\\.log\\.\\d{8}-\\d{6}\\.\\d{6}\\.export-metrics\\.txt");
    assertThat(Main.debugLogFile("/l/%COMMAND%.log", "metric-server")).isEqualTo(Path.of("/l/metric-server.log"));
  }
}
