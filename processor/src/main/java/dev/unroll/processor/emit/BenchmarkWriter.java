package dev.unroll.processor.emit;

import com.palantir.javapoet.AnnotationSpec;
import com.palantir.javapoet.ArrayTypeName;
import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import dev.unroll.Family;
import dev.unroll.Platform;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.processor.plan.Plan;
import java.util.List;
import javax.lang.model.element.Element;
import javax.lang.model.element.Modifier;

/**
 * Prints {@code Unrolled<Name>Benchmark}: a JMH benchmark of the generated model (a decoder's training step and
 * forward alone; an encoder's inference, the forward and its pooled vectors, and training step), with the backend
 * and the worker-pool size as JMH parameters. JMH's own annotation processor
 * turns it into a runnable benchmark in the same compilation. Written only when the annotation asks for it and
 * JMH is on the compile classpath (the processor checks {@link #JMH_BENCHMARK} first).
 */
public final class BenchmarkWriter {
  /** The annotation whose presence on the classpath this writer needs. */
  public static final String JMH_BENCHMARK = "org.openjdk.jmh.annotations.Benchmark";

  private static final String JMH = "org.openjdk.jmh.annotations";
  private static final String RUNTIME = "dev.unroll.runtime";
  private static final ClassName BACKEND = ClassName.get(RUNTIME, "Backend");
  private static final ClassName ADAMW = ClassName.get(RUNTIME, "AdamW");
  private static final ClassName POOL = ClassName.get(RUNTIME + ".thread", "WorkerPool");
  private static final ClassName RANDOM = ClassName.get("java.util", "SplittableRandom");
  private static final ClassName TIME_UNIT = ClassName.get("java.util.concurrent", "TimeUnit");
  private static final ClassName GENERATED = ClassName.get("javax.annotation.processing", "Generated");
  private static final ClassName ARRAYS = ClassName.get("java.util", "Arrays");
  private static final TypeName INTS = ArrayTypeName.of(TypeName.INT);
  private static final TypeName FLOATS = ArrayTypeName.of(TypeName.FLOAT);

  private BenchmarkWriter() {}

  /** The simple name of the benchmark class for {@code spec}. */
  public static String className(ModelSpec spec) {
    return spec.generatedName() + "Benchmark";
  }

  /** The benchmark file for {@code plan}; {@code originating} ties it to its interface for incremental builds. */
  public static JavaFile write(Plan plan, Element originating) {
    ModelSpec spec = plan.spec();
    ClassName model = ClassName.get(spec.packageName(), spec.generatedName());
    boolean encoder = spec.family().encoder();
    TypeSpec.Builder type = TypeSpec.classBuilder(className(spec))
        .addModifiers(Modifier.PUBLIC)
        .addAnnotation(AnnotationSpec.builder(GENERATED).addMember("value", "$S", ModelWriter.GENERATOR).build())
        .addAnnotation(AnnotationSpec.builder(jmh("State")).addMember("value", "$T.Thread", jmh("Scope")).build())
        .addAnnotation(AnnotationSpec.builder(jmh("BenchmarkMode"))
            .addMember("value", "$T.AverageTime", jmh("Mode")).build())
        .addAnnotation(AnnotationSpec.builder(jmh("OutputTimeUnit"))
            .addMember("value", "$T.MILLISECONDS", TIME_UNIT).build())
        .addAnnotation(AnnotationSpec.builder(jmh("Warmup")).addMember("iterations", "3")
            .addMember("time", "1").build())
        .addAnnotation(AnnotationSpec.builder(jmh("Measurement")).addMember("iterations", "5")
            .addMember("time", "1").build())
        .addAnnotation(AnnotationSpec.builder(jmh("Fork")).addMember("value", "1")
            .addMember("jvmArgsAppend", "{$S, $S}", "--add-modules", "jdk.incubator.vector").build())
        .addJavadoc(encoder ? encoderDoc(spec, plan) : doc(spec, plan));
    if (originating != null) {
      type.addOriginatingElement(originating);
    }
    if (encoder) {
      type.addField(FieldSpec.builder(TypeName.INT, "ITEMS", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
          .addJavadoc("$L per step: divide by the time of an operation for $L/s.\n", items(spec, true),
              items(spec, false))
          .initializer("$T.BATCH", model).build());
    } else {
      type.addField(FieldSpec.builder(TypeName.INT, "TOKENS", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
          .addJavadoc("Tokens per step: divide by the time of a step for tokens/s.\n")
          .initializer("$T.TOKENS", model).build());
    }
    type.addField(FieldSpec.builder(TypeName.LONG, "FLOPS_PER_STEP", Modifier.PUBLIC, Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc("FLOPs of a training step (6·N·B·T + 12·L·C·B·T²); a forward is a third of it.\n")
        .initializer("$T.FLOPS_PER_STEP", model).build());
    type.addField(FieldSpec.builder(BACKEND, "backend", Modifier.PUBLIC)
        .addJavadoc(backendDoc(spec))
        .addAnnotation(AnnotationSpec.builder(jmh("Param")).addMember("value", "{$L}", String.join(", ",
            backends(spec).stream().map(b -> CodeBlock.of("$S", b).toString()).toList())).build()).build());
    type.addField(FieldSpec.builder(TypeName.INT, "threads", Modifier.PUBLIC)
        .addJavadoc("Threads of the worker pool, the benchmark thread included; 0 keeps the default\n"
            + "({@code -Dunroll.threads} or every processor). Set it with {@code -p threads=1,2}.\n")
        .addAnnotation(AnnotationSpec.builder(jmh("Param")).addMember("value", "{$S}", "0").build()).build());
    type.addField(model, "model", Modifier.PRIVATE);
    type.addField(ADAMW, "opt", Modifier.PRIVATE);
    if (encoder) {
      addEncoderMembers(type, spec, model);
    } else {
      addDecoderMembers(type, model);
    }
    return ModelWriter.javaFile(spec, type);
  }

  /** A decoder's batch of random tokens and targets, its training step and its forward with loss. */
  private static void addDecoderMembers(TypeSpec.Builder type, ClassName model) {
    type.addField(FieldSpec.builder(INTS, "x", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new int[TOKENS]").build());
    type.addField(FieldSpec.builder(INTS, "y", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new int[TOKENS]").build());
    type.addMethod(setUp(model, "A seeded model, its optimizer, and one batch of random tokens.\n")
        .beginControlFlow("for (int i = 0; i < TOKENS; i++)")
        .addStatement("x[i] = r.nextInt($T.VOCAB)", model)
        .addStatement("y[i] = r.nextInt($T.VOCAB)", model)
        .endControlFlow()
        .build());
    type.addMethod(trainingStep("model.forward(x, y)"));
    type.addMethod(MethodSpec.methodBuilder("forward").addModifiers(Modifier.PUBLIC)
        .addAnnotation(jmh("Benchmark"))
        .addJavadoc("The forward pass with loss alone.\n")
        .returns(TypeName.FLOAT)
        .addStatement("return model.forward(x, y)")
        .build());
  }

  /**
   * An encoder's fixed batch (full rows of random tokens, or Gaussian grids) with random labels, the array its
   * vectors go into, its inference as an embedding service runs it, and its training step.
   */
  private static void addEncoderMembers(TypeSpec.Builder type, ModelSpec spec, ClassName model) {
    boolean text = spec.family() == Family.BERT;
    MethodSpec.Builder setUp = setUp(model, text
        ? "A seeded model, its optimizer, one batch of full rows of random tokens and random labels.\n"
        : "A seeded model, its optimizer, one batch of grids of standard Gaussian values and random labels.\n");
    if (text) {
      type.addField(FieldSpec.builder(INTS, "tokens", Modifier.PRIVATE, Modifier.FINAL)
          .initializer("new int[$T.TOKENS]", model).build());
      type.addField(FieldSpec.builder(INTS, "lengths", Modifier.PRIVATE, Modifier.FINAL)
          .initializer("new int[ITEMS]").build());
      setUp.beginControlFlow("for (int i = 0; i < tokens.length; i++)")
          .addStatement("tokens[i] = r.nextInt($T.VOCAB)", model)
          .endControlFlow()
          .addStatement("$T.fill(lengths, $T.CONTEXT)", ARRAYS, model);
    } else {
      type.addField(FieldSpec.builder(FLOATS, "pixels", Modifier.PRIVATE, Modifier.FINAL)
          .initializer("new float[ITEMS * $T.PIXELS]", model).build());
      setUp.beginControlFlow("for (int i = 0; i < pixels.length; i++)")
          .addStatement("pixels[i] = (float) r.nextGaussian()")
          .endControlFlow();
    }
    type.addField(FieldSpec.builder(INTS, "labels", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new int[ITEMS]").build());
    type.addField(FieldSpec.builder(FLOATS, "vectors", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new float[ITEMS * $T.DIM]", model).build());
    type.addMethod(setUp.beginControlFlow("for (int i = 0; i < ITEMS; i++)")
        .addStatement("labels[i] = r.nextInt($T.CLASSES)", model)
        .endControlFlow()
        .build());
    String inputs = text ? "tokens, lengths" : "pixels";
    type.addMethod(MethodSpec.methodBuilder("inference").addModifiers(Modifier.PUBLIC)
        .addAnnotation(jmh("Benchmark"))
        .addJavadoc("What an embedding service does per batch: the forward without labels, then the pooled vectors\n"
            + "(read back from a device).\n")
        .returns(FLOATS)
        .addStatement(text ? "return model.embed(tokens, null, lengths, vectors)"
            : "return model.embed(pixels, vectors)")
        .build());
    type.addMethod(trainingStep("model.forward(" + inputs + ", labels)"));
  }

  /** {@code setUp}'s common start: the pool's size, a seeded model, its optimizer, a seeded random source. */
  private static MethodSpec.Builder setUp(ClassName model, String doc) {
    return MethodSpec.methodBuilder("setUp").addModifiers(Modifier.PUBLIC)
        .addAnnotation(jmh("Setup"))
        .addJavadoc(doc)
        .beginControlFlow("if (threads > 0)")
        .addStatement("$T.setThreads(threads)", POOL)
        .endControlFlow()
        .addStatement("model = $T.create(backend, 1)", model)
        .addStatement("opt = $T.of(model).lr(1e-4f)", ADAMW)
        .addStatement("$T r = new $T(1)", RANDOM, RANDOM);
  }

  /** One training step over {@code forward}, a call that returns the loss. */
  private static MethodSpec trainingStep(String forward) {
    return MethodSpec.methodBuilder("trainingStep").addModifiers(Modifier.PUBLIC)
        .addAnnotation(jmh("Benchmark"))
        .addJavadoc("Forward with loss, backward, one AdamW step, waited for (on a device it is queued); returns the\n"
            + "loss.\n")
        .returns(TypeName.FLOAT)
        .addStatement("float loss = " + forward)
        .addStatement("model.zeroGrad()")
        .addStatement("model.backward()")
        .addStatement("opt.step()")
        .addStatement("model.finish()")
        .addStatement("return loss")
        .build();
  }

  /**
   * The backends JMH runs by default: the CPU's where the model has them (OPENCL needs a device, so it runs when
   * asked for with {@code -p backend=OPENCL}); OPENCL alone for a model compiled for it alone.
   */
  static List<String> backends(ModelSpec spec) {
    return spec.runsOn(Platform.JAVA) ? List.of("SIMD", "SCALAR") : List.of("OPENCL");
  }

  private static CodeBlock backendDoc(ModelSpec spec) {
    if (!spec.runsOn(Platform.JAVA)) {
      return CodeBlock.of("The backend: OPENCL, the one this model was compiled for.\n");
    }
    if (!spec.runsOn(Platform.OPENCL)) {
      return CodeBlock.of("The backend; JMH runs each value (this model was compiled without OPENCL).\n");
    }
    return CodeBlock.of("The backend; JMH runs each value. On an OpenCL device add it: {@code -p\n"
        + "backend=SIMD,OPENCL}.\n");
  }

  private static ClassName jmh(String simpleName) {
    return ClassName.get(JMH, simpleName);
  }

  private static CodeBlock encoderDoc(ModelSpec spec, Plan plan) {
    return CodeBlock.builder()
        .add("JMH benchmark of {@link $L}: inference as an embedding service runs it (the forward without labels,\n",
            spec.generatedName())
        .add("then the pooled vectors) and one training step (forward with labels, backward, AdamW), for each\n")
        .add("backend. $L rows of $L positions and $L FLOPs per training step.\n\n", spec.batch(), spec.context(),
            plan.trainingFlopsPerStep())
        .add("<p>Run it with JMH's runner, e.g. {@code java --add-modules jdk.incubator.vector -cp ...\n")
        .add("org.openjdk.jmh.Main $L -p threads=1,2}; $L/s is\n", className(spec), items(spec, false))
        .add("{@code ITEMS} divided by the time of an operation, GFLOP/s is {@code FLOPS_PER_STEP} (a third of it\n")
        .add("for inference, a forward) divided by it.\n")
        .build();
  }

  /** What an encoder's row is: "Sentences" or "sentences" for BERT, "Grids" or "grids" for ViT. */
  private static String items(ModelSpec spec, boolean capital) {
    String items = spec.family() == Family.BERT ? "sentences" : "grids";
    return capital ? Character.toUpperCase(items.charAt(0)) + items.substring(1) : items;
  }

  private static CodeBlock doc(ModelSpec spec, Plan plan) {
    return CodeBlock.builder()
        .add("JMH benchmark of {@link $L}: one training step (forward, backward, AdamW) and the forward alone,\n",
            spec.generatedName())
        .add("for each backend. $L tokens and $L FLOPs per training step.\n\n", plan.tokensPerStep(),
            plan.trainingFlopsPerStep())
        .add("<p>Run it with JMH's runner, e.g. {@code java --add-modules jdk.incubator.vector -cp ...\n")
        .add("org.openjdk.jmh.Main $L -p threads=1,2}; tokens/s is\n", className(spec))
        .add("{@code TOKENS} divided by the time of an operation, GFLOP/s is {@code FLOPS_PER_STEP} (a third of\n")
        .add("it for the forward) divided by it.\n")
        .build();
  }
}
