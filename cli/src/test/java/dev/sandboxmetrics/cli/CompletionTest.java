package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code completion bash|zsh}: the scripts parse, and bash really completes our commands and options. */
class CompletionTest {
  @TempDir Path tmp;

  @Test
  void bothScriptsParse() throws Exception {
    for (CompletionCommand.Shell shell : CompletionCommand.Shell.values()) {
      Path script = Files.writeString(tmp.resolve(shell + ".sh"), CompletionCommand.script(shell));
      Run r = bash("-n", script.toString());
      assertThat(r.exit).as("bash -n on the %s script: %s", shell, r.out).isZero();
      assertThat(r.out).isEmpty();
    }
  }

  @Test
  void bashCompletesCommandsAndTheirOptions() throws Exception {
    Path script = Files.writeString(tmp.resolve("bash.sh"), CompletionCommand.script(CompletionCommand.Shell.bash));
    assertThat(complete(script, "sandbox-metrics", "")).containsAll(Main.SUBCOMMANDS);
    assertThat(complete(script, "sandbox-metrics", "--ro")).containsExactly("--root");
    assertThat(complete(script, "sandbox-metrics", "metric-server", "--pid")).containsExactly("--pid-file");
    assertThat(complete(script, "sandbox-metrics", "export-metrics", "--exp")).containsExactly("--exporter-prefix");
    assertThat(complete(script, "sandbox-metrics", "completion", "")).contains("bash", "zsh");
  }

  /** What bash's completion function offers for the last word of {@code words}. */
  private List<String> complete(Path script, String... words) throws Exception {
    StringBuilder array = new StringBuilder();
    for (String w : words) {
      array.append('\'').append(w).append("' ");
    }
    String line = String.join(" ", words);
    String program = "source '" + script + "' 2>/dev/null; COMP_WORDS=(" + array + "); COMP_CWORD="
        + (words.length - 1) + "; COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}; "
        + "_complete_sandbox-metrics sandbox-metrics '" + words[words.length - 1] + "' '"
        + words[words.length - 2] + "' 2>/dev/null; printf '%s\\n' \"${COMPREPLY[@]}\"";
    Run r = bash("-c", program);
    assertThat(r.exit).as(r.out).isZero();
    return r.out.isEmpty() ? List.of() : List.of(r.out.strip().split("\n"));
  }

  private record Run(int exit, String out) {}

  private static Run bash(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("bash"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }
}
