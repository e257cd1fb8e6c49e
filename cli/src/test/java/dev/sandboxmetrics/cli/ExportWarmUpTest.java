package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The warm-up swallows its failures, so a sample that stopped decoding would only go unnoticed here. */
class ExportWarmUpTest {
  @Test
  void theSampleReplyDecodesAndRendersLikeASandboxsReply() throws Exception {
    Snapshot snapshot = ExportWarmUp.decodeSample();
    assertThat(snapshot.data()).hasSize(2);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ExportWarmUp.render(snapshot, out);
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("runsc_fs_opens{op=\"read\",sandbox=\"warm-up\"} 3 ")
        .contains("runsc_mem{sandbox=\"warm-up\"} 1.500000 ");
  }
}
