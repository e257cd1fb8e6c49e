package dev.sandboxmetrics.snapshot.verify;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import dev.sandboxmetrics.snapshot.TestData;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every verifier case recorded from gVisor's own verifier ({@code testdata/gvisor-golden/verify}): the
 * registration, then each step's snapshot taken {@code when_offset_ms} before "now". Our verifier must accept
 * and reject exactly the same steps, with the same messages.
 */
class GoldenVerifyCasesTest {
  private static final String DIR = "gvisor-golden/verify";

  @Test
  void theGoldenCasesArePresent() {
    assertThat(TestData.list(DIR, ".case.json")).hasSizeGreaterThanOrEqualTo(9);
  }

  @TestFactory
  Stream<DynamicTest> everyCaseGivesGVisorsOutcomes() {
    return TestData.list(DIR, ".case.json").stream()
        .map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> runCase(file)));
  }

  private static void runCase(Path caseFile) throws Exception {
    Path outFile =
        caseFile.resolveSibling(caseFile.getFileName().toString().replace(".case.json", ".out.txt"));
    List<String> expected =
        Files.readAllLines(outFile).stream().filter(l -> !l.isBlank()).collect(Collectors.toList());

    Case c = readCase(caseFile);
    List<String> actual = new ArrayList<>();
    Verifier verifier = null;
    try {
      verifier = Verifier.forRegistration(c.registration);
      actual.add("NewVerifier: OK");
    } catch (InvalidRegistrationException e) {
      actual.add("NewVerifier: ERROR: " + e.getMessage());
    }
    if (verifier != null) {
      Instant now = Instant.now();
      for (int i = 0; i < c.steps.size(); i++) {
        Step step = c.steps.get(i);
        Snapshot snapshot = new Snapshot(now.plusMillis(step.whenOffsetMs), step.snapshot.data());
        String prefix = "step " + i + " [" + step.note + "]: ";
        try {
          verifier.verify(snapshot, now);
          actual.add(prefix + "OK");
        } catch (VerificationException e) {
          actual.add(prefix + "ERROR: " + e.getMessage());
        }
      }
    }

    assertThat(outcomes(actual)).as("OK/ERROR per line").isEqualTo(outcomes(expected));
    assertThat(actual).as("messages").isEqualTo(expected);
  }

  private static List<String> outcomes(List<String> lines) {
    return lines.stream()
        .map(l -> l.substring(0, l.indexOf(": ") + 2) + (l.contains(": ERROR") ? "ERROR" : "OK"))
        .collect(Collectors.toList());
  }

  private static final class Case {
    Registration registration;
    final List<Step> steps = new ArrayList<>();
  }

  private static final class Step {
    Snapshot snapshot;
    long whenOffsetMs;
    String note = "";
  }

  private static Case readCase(Path file) throws Exception {
    Case c = new Case();
    try (InputStream in = Files.newInputStream(file);
        JsonParser p = RunscJson.createParser(in)) {
      assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String member = p.currentName();
        p.nextToken();
        if (member.equals("registration")) {
          c.registration = RunscJson.readRegistration(p);
        } else if (member.equals("steps")) {
          while (p.nextToken() == JsonToken.START_OBJECT) {
            c.steps.add(readStep(p));
          }
        } else {
          p.skipChildren();
        }
      }
    }
    return c;
  }

  private static Step readStep(JsonParser p) throws Exception {
    Step step = new Step();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String member = p.currentName();
      p.nextToken();
      switch (member) {
        case "snapshot":
          step.snapshot = RunscJson.readSnapshot(p, RunscJson.BothSetPolicy.REJECT);
          break;
        case "when_offset_ms":
          step.whenOffsetMs = p.getLongValue();
          break;
        case "note":
          step.note = p.getText();
          break;
        default:
          p.skipChildren();
      }
    }
    return step;
  }
}
