package dev.sandboxmetrics.snapshot.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Renders every input of testdata/gvisor-golden and compares with what gVisor's own writer printed for it.
 * Sample lines and blank lines must be byte-identical, in order. Comment lines happen to match too, because
 * we keep gVisor's form (UTC times). The only lines allowed to differ are gVisor's known bugs, listed below
 * with the line we print instead.
 */
class PrometheusTextWriterGoldenTest {
  /** Per case: gVisor's wrong line, and ours. docs/runsc-protocol.md section 8: integers from 10^18 print empty. */
  private static final Map<String, Map<String, String>> KNOWN_GVISOR_BUGS = Map.of(
      "01_single_basic", Map.of(
          "runsc_big_counter{iteration=\"it-1\",namespace_name=\"default\",pod_name=\"web-0\",sandbox=\"abc123\","
              + "v=\"1000000000000000000\"}  1704164645678",
          "runsc_big_counter{iteration=\"it-1\",namespace_name=\"default\",pod_name=\"web-0\",sandbox=\"abc123\","
              + "v=\"1000000000000000000\"} 1000000000000000000 1704164645678"));

  static Stream<String> cases() throws IOException {
    try (Stream<Path> files = Files.list(GoldenInput.testdata("gvisor-golden"))) {
      List<String> names = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".in.json"))
          .map(n -> n.substring(0, n.length() - ".in.json".length()))
          .sorted()
          .toList();
      assertThat(names).as("golden cases").contains("01_single_basic", "03_histogram", "13_empty_list");
      return names.stream();
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void samplesAndBlankLinesMatchGvisorByteForByte(String name) throws IOException {
    Path dir = GoldenInput.testdata("gvisor-golden");
    GoldenInput.Case input = GoldenInput.readCase(dir.resolve(name + ".in.json"));
    String golden = Files.readString(dir.resolve(name + ".out.prom"), StandardCharsets.UTF_8);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WriteReport report = new PrometheusTextWriter().write(out, input.commentHeader(), input.exports());
    String ours = out.toString(StandardCharsets.UTF_8);

    assertThat(report.droppedDataPoints()).isEmpty();
    assertThat(report.bytesWritten()).isEqualTo(out.size());

    Map<String, String> bugs = KNOWN_GVISOR_BUGS.getOrDefault(name, Map.of());
    List<String> expected = new ArrayList<>();
    for (String line : lines(golden)) {
      expected.add(bugs.getOrDefault(line, line));
    }
    assertThat(lines(golden)).as("the known gVisor bug lines of this case occur in its golden output")
        .containsAll(bugs.keySet());
    assertThat(nonComment(lines(ours))).isEqualTo(nonComment(expected));
    assertThat(lines(ours)).as("comment lines in gVisor's form too").isEqualTo(expected);
  }

  @Test
  void noSnapshotsWritesNothingAtAllNotEvenTheCommentHeader() throws IOException {
    GoldenInput.Case input =
        GoldenInput.readCase(GoldenInput.testdata("gvisor-golden").resolve("13_empty_list.in.json"));
    assertThat(input.exports()).isEmpty();
    assertThat(input.commentHeader()).isNotEmpty();

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    WriteReport report = new PrometheusTextWriter().write(out, input.commentHeader(), input.exports());

    assertThat(out.size()).isZero();
    assertThat(report.bytesWritten()).isZero();
  }

  /** Lines including the empty ones; the text's final newline ends the last line rather than adding one. */
  private static List<String> lines(String text) {
    if (text.isEmpty()) {
      return List.of();
    }
    assertThat(text).endsWith("\n");
    return Arrays.asList(text.substring(0, text.length() - 1).split("\n", -1));
  }

  private static List<String> nonComment(List<String> lines) {
    return lines.stream().filter(l -> !l.startsWith("#")).toList();
  }
}
