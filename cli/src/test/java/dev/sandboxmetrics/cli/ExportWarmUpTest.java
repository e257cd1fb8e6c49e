package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The warm-up swallows its own failures, so a sample that stopped decoding would only go unnoticed here;
 * and what it must not swallow: JNA's start, which the main thread waits for and whose failure it rethrows.
 */
class ExportWarmUpTest {
  @AfterEach
  void noWarmUpLeftForOtherTests() throws Exception {
    // Later tests in this JVM get a warm-up whose JNA start has finished.
    ExportWarmUp done = new ExportWarmUp(() -> {});
    ExportWarmUp.start(done);
    ExportWarmUp.beforeNativeUse();
  }

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

  @Test
  void theSampleRegistrationIsAValidOne() throws Exception {
    Registration registration = ExportWarmUp.parseSampleStateFile();
    assertThat(registration.metrics()).hasSize(2);
  }

  @Test
  void aFailedJnaStartIsThrownToTheMainThreadAsItsOwnFirstUseWouldHaveThrownIt() {
    UnsatisfiedLinkError failure = new UnsatisfiedLinkError("Could not find JNA native support");
    ExportWarmUp.start(new ExportWarmUp(() -> {
      throw failure;
    }));
    assertThatThrownBy(ExportWarmUp::beforeNativeUse).isSameAs(failure);
  }

  @Test
  void aFailedJnaStartWithARuntimeExceptionIsThrownAsIs() {
    IllegalStateException failure = new IllegalStateException("no libc");
    ExportWarmUp.start(new ExportWarmUp(() -> {
      throw failure;
    }));
    assertThatThrownBy(ExportWarmUp::beforeNativeUse).isSameAs(failure);
  }

  @Test
  void theMainThreadWarmsUpWhileJnaIsSlowThenWaitsForIt() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExportWarmUp slow = new ExportWarmUp(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    ExportWarmUp.start(slow);
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread main = new Thread(() -> {
      try {
        ExportWarmUp.beforeNativeUse();
      } catch (Throwable t) {
        thrown.set(t);
      }
    }, "pretend-main");
    main.start();
    // It begins every part of the miniature itself (the JNA thread is stuck), then waits.
    while (slow.stepsBegun() < ExportWarmUp.steps() || main.getState() != Thread.State.WAITING) {
      assertThat(main.isAlive()).as("returned before JNA was up").isTrue();
      Thread.sleep(5);
    }
    release.countDown();
    main.join(TimeUnit.SECONDS.toMillis(60));
    assertThat(main.isAlive()).isFalse();
    assertThat(thrown.get()).isNull();
  }
}
