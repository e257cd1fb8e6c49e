package dev.sandboxmetrics.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The limits Go's regexp/syntax puts on an expression, which RE2/J alone does not (nested repeats). */
class BoundedRegexTest {
  @Test
  void nestedRepeatCountsAreRejectedAsGoRejectsThem() {
    // Each is an "invalid repeat count" in Go (runsc answers 400); RE2/J alone would compile them.
    for (String re : new String[] {"((a{1000}){1000}){3}", "(a{1000}){1000}", "(a{2}){501}", "((a{10}){10}){11}",
        "(?:x{1000}){2}", "(a{500,}){3}", "(a{2,1000}b){2}"}) {
      assertThatThrownBy(() -> BoundedRegex.compile(re)).as(re)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("invalid repeat count");
    }
  }

  @Test
  void repeatsGoAcceptsAreAccepted() {
    for (String re : new String[] {"a{1000}", "(a{10}){100}", "((a{10}){10}){10}", "(a{2}){500}", "(a*){1000}",
        "(a{0}){1000}", "(a{1000}|b){1}", "fs_(opens|reads){1,3}", "a{,5}", "x{", "a{1,}b{2,}"}) {
      assertThat(BoundedRegex.compile(re)).as(re).isNotNull();
    }
  }

  @Test
  void singleCountsAboveGosLimitAreRejected() {
    assertThatThrownBy(() -> BoundedRegex.compile("a{1001}")).hasMessageStartingWith("invalid repeat count");
    assertThatThrownBy(() -> BoundedRegex.compile("a{99999999999999999999}"))
        .hasMessageStartingWith("invalid repeat count");
  }

  @Test
  void bracesAndParenthesesInClassesAndQuotesAreNotStructure() {
    // In a class or \Q...\E, '(' and '{' are plain: no group, no repeat, nothing to reject.
    assertThat(BoundedRegex.compile("[({1000}]{1000}")).isNotNull();
    assertThat(BoundedRegex.compile("\\Q(a{1000}){1000}\\E")).isNotNull();
    assertThat(BoundedRegex.compile("[]a]{1000}")).isNotNull();
    assertThat(BoundedRegex.compile("[[:alpha:](]{1000}")).isNotNull();
    // ...but the class is still one thing repeated: nested under another repeat it counts.
    assertThatThrownBy(() -> BoundedRegex.compile("([(]{1000}){2}")).hasMessageStartingWith("invalid repeat count");
  }

  @Test
  void programsBeyondTheSizeBoundAreRejectedBeforeCompiling() {
    // 30 alternatives of 1000 copies: each repeat is valid in Go, the program is 30,000 instructions.
    String big = "(?:" + "a{1000}|".repeat(29) + "a{1000})";
    assertThatThrownBy(() -> BoundedRegex.compile(big)).hasMessageStartingWith("expression too large");
    assertThatThrownBy(() -> BoundedRegex.compile("x".repeat(BoundedRegex.MAX_PROGRAM_SIZE + 1)))
        .hasMessageStartingWith("expression too large");
    assertThat(BoundedRegex.check("(a{10}){10}")).isEqualTo(120); // a{10} is 10, the capture 12, ten of it 120
  }

  @Test
  void anAlternationOfEveryRealMetricNameFits() {
    // ~200 names of ~30 characters: a filter someone may really write.
    StringBuilder b = new StringBuilder("^(");
    for (int i = 0; i < 200; i++) {
      b.append(i == 0 ? "" : "|").append("fs_some_metric_name_number_").append(i);
    }
    assertThat(BoundedRegex.compile(b.append(")$").toString())).isNotNull();
  }

  @Test
  void deepNestingIsRejected() {
    String deep = "(".repeat(1001) + "a" + ")".repeat(1001);
    assertThatThrownBy(() -> BoundedRegex.compile(deep)).hasMessageStartingWith("expression nests too deeply");
    assertThat(BoundedRegex.compile("(".repeat(100) + "a" + ")".repeat(100))).isNotNull();
  }

  @Test
  void invalidSyntaxIsStillRe2jsToJudge() {
    assertThatThrownBy(() -> BoundedRegex.compile("fs_(")).hasMessageContaining("missing closing )");
    assertThatThrownBy(() -> BoundedRegex.compile("a**")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void metricNameFilterQuotesAtMostTwoHundredCharactersOfABadExpression() {
    String re = "(" + "x".repeat(100_000);
    assertThatThrownBy(() -> MetricNameFilter.compile(re))
        .hasMessageStartingWith("invalid regular expression \"(xxx")
        .hasMessageContaining("(100001 characters)")
        .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(400));
  }
}
