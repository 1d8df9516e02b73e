package dev.unroll.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loss curve's files. */
class LossCurveTest {
  @TempDir
  Path dir;

  private static LossCurve curve() {
    LossCurve curve = new LossCurve("test", "validation loss", 4);
    curve.validation(0, 5.5f);
    curve.train(1, 3.25f);
    curve.train(2, 0.1f);
    curve.validation(2, 2.75f);
    curve.train(3, 1e-7f);
    curve.train(4, 1.0f);
    curve.validation(4, 0.5f);
    return curve;
  }

  @Test
  void csvHasEveryStepWithAValueAndReadsBackExactly() {
    assertEquals("""
        step,train_loss,val_loss
        0,,5.5
        1,3.25,
        2,0.1,2.75
        3,1.0E-7,
        4,1.0,0.5
        """, curve().csv());
    assertEquals(0.1f, Float.parseFloat("0.1"), "Float.toString reads back as the same float");
  }

  @Test
  void filesGoBesideTheModelAndThePngIsAnImageOfTheStatedSize() throws Exception {
    Path model = dir.resolve("runs/a.b.safetensors");
    assertEquals(dir.resolve("runs/a.b.loss.csv"), LossCurve.csvFile(model));
    assertEquals(dir.resolve("runs/a.b.loss.png"), LossCurve.pngFile(model));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    curve().writeBeside(model, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertEquals("wrote the loss curve to " + LossCurve.csvFile(model) + " and " + LossCurve.pngFile(model) + "\n",
        bytes.toString(StandardCharsets.UTF_8));
    assertEquals(curve().csv(), Files.readString(LossCurve.csvFile(model)));
    BufferedImage image = ImageIO.read(LossCurve.pngFile(model).toFile());
    assertNotNull(image, "a PNG that ImageIO reads");
    assertEquals(LossCurve.WIDTH, image.getWidth());
    assertEquals(LossCurve.HEIGHT, image.getHeight());
    assertTrue(distinctColours(image) > 4, "a plot, not a blank image");
    try (Stream<Path> files = Files.list(model.getParent())) {
      assertEquals(List.of("a.b.loss.csv", "a.b.loss.png"),
          files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file left");
    }
  }

  @Test
  void aWriteReplacesTheWholeFileAndAFailureNamesIt() throws Exception {
    Path file = dir.resolve("x.csv");
    Files.writeString(file, "old content that is longer than the new one");
    SampleFiles.write(file, "new".getBytes(StandardCharsets.UTF_8));
    assertEquals("new", Files.readString(file));
    Path blocker = Files.writeString(dir.resolve("blocker"), "a file, not a folder");
    SampleException e = assertThrows(SampleException.class,
        () -> SampleFiles.write(blocker.resolve("x.csv"), new byte[1]));
    assertEquals("cannot write " + blocker.resolve("x.csv") + ": " + blocker + " is in the way (a file, not a folder)",
        e.getMessage());
  }

  @Test
  void spanDecidesTheAxis() {
    assertEquals(5.5 / 1e-7f, curve().span(), 1e-3 * (5.5 / 1e-7f), "log axis for the sort task's fall");
    LossCurve text = new LossCurve("text", "validation loss", 2);
    text.validation(0, 5.5f);
    text.train(1, 2.75f);
    assertEquals(2, text.span(), 0, "linear axis for a text run");
    assertEquals(1, new LossCurve("empty", "v", 3).span());
    // both kinds of axis draw
    for (LossCurve c : new LossCurve[] {curve(), text}) {
      assertTrue(c.png().length > 1000);
    }
  }

  @Test
  void stepTicksAreRound() {
    assertEquals(1, LossCurve.roundStep(4));
    assertEquals(1, LossCurve.roundStep(10));
    assertEquals(2, LossCurve.roundStep(11));
    assertEquals(50, LossCurve.roundStep(300));
    assertEquals(100, LossCurve.roundStep(1000));
    assertEquals(200, LossCurve.roundStep(2000));
    assertEquals(500, LossCurve.roundStep(2001));
  }

  private static int distinctColours(BufferedImage image) {
    java.util.Set<Integer> colours = new java.util.HashSet<>();
    for (int y = 0; y < image.getHeight(); y += 3) {
      for (int x = 0; x < image.getWidth(); x += 3) {
        colours.add(image.getRGB(x, y));
      }
    }
    return colours.size();
  }
}
