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
import dev.unroll.Platform;
import dev.unroll.processor.kernel.Kernel;
import dev.unroll.processor.kernel.Role;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.processor.plan.Arena;
import dev.unroll.processor.plan.Arg;
import dev.unroll.processor.plan.Families;
import dev.unroll.processor.plan.GradientLayout;
import dev.unroll.processor.plan.Op;
import dev.unroll.processor.plan.Plan;
import dev.unroll.processor.plan.Stage;
import dev.unroll.processor.plan.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import javax.lang.model.element.Modifier;

/**
 * Prints a {@link Plan} as the source of {@code Unrolled<Name>}: dimension and offset constants, the parameter
 * arenas, and the {@code CausalLm} methods, each written once with its checks, over a private {@code Steps}
 * interface. Each platform the spec lists is one room, a nested class implementing {@code Steps}, chosen once at
 * construction: {@code CpuSteps} (SCALAR and SIMD: the other arenas as Java arrays, one method per stage of
 * straight-line kernel calls) and {@code OpenClSteps} (OPENCL: device buffers, the model's OpenCL C, a bound kernel
 * call per op). A platform left out leaves no code behind.
 */
public final class ModelWriter {
  /** Recorded in {@code @Generated}. */
  public static final String GENERATOR = "dev.unroll.processor.UnrollProcessor";

  static final String RUNTIME = "dev.unroll.runtime";
  static final ClassName BACKEND = ClassName.get(RUNTIME, "Backend");
  static final ClassName KERNELS = ClassName.get(RUNTIME + ".kernel", "Kernels");
  static final ClassName MODEL_SHAPE = ClassName.get(RUNTIME, "ModelShape");
  static final ClassName PARAMETERS = ClassName.get(RUNTIME, "Parameters");
  static final ClassName CHECKS = ClassName.get(RUNTIME + ".check", "Checks");
  static final ClassName INT8 = ClassName.get(RUNTIME + ".number", "Int8");
  static final ClassName BF16 = ClassName.get(RUNTIME + ".number", "Bf16");
  static final ClassName PATH = ClassName.get("java.nio.file", "Path");
  static final ClassName IO_EXCEPTION = ClassName.get("java.io", "IOException");
  static final ClassName OBJECTS = ClassName.get("java.util", "Objects");
  static final ClassName DECODE_WARMUP = ClassName.get(RUNTIME, "DecodeWarmup");
  static final ClassName GENERATED = ClassName.get("javax.annotation.processing", "Generated");
  static final ClassName DECODE_WEIGHTS = ClassName.get(RUNTIME, "DecodeWeights");
  static final ClassName DEVICE_PARAMETERS = ClassName.get(RUNTIME + ".train", "DeviceParameters");
  static final ClassName SAFETENSORS_CONTENTS = ClassName.get(RUNTIME + ".format", "Safetensors", "Contents");
  static final ClassName DEVICE_MODEL = ClassName.get(RUNTIME + ".opencl", "DeviceModel");
  static final ClassName OPEN_CL = ClassName.get(RUNTIME + ".opencl", "OpenCl");
  static final TypeName FLOATS = ArrayTypeName.of(TypeName.FLOAT);
  static final TypeName INTS = ArrayTypeName.of(TypeName.INT);

  final Plan plan;
  final ModelSpec spec;
  final ClassName self;
  /** The family, as the registry knows it. */
  final Families.Entry family;
  /** The runtime's {@code ModelFamily} of the family: layout, initialisation, checkpoints. */
  final ClassName runtimeFamily;
  /** The runtime record of the family's shape, the type of {@code SHAPE}. */
  final ClassName shapeType;
  /** The OpenCL side: wrapper kernels and the Java that binds them. */
  final OpenClWriter openCl;
  /** Whether the class has the SCALAR and SIMD backends' room ({@code Platform.JAVA}). */
  final boolean java;
  /** Whether the class has the OPENCL backend's room ({@code Platform.OPENCL}). */
  final boolean openClRoom;
  /** The interface of a backend's steps, and its implementations: nested types of the generated class. */
  final ClassName steps;
  final ClassName cpuSteps;
  final ClassName openClSteps;

  private ModelWriter(Plan plan) {
    this.plan = plan;
    this.spec = plan.spec();
    this.self = ClassName.get(spec.packageName(), spec.generatedName());
    this.family = Families.of(spec.family());
    this.runtimeFamily = ClassName.bestGuess(family.runtimeFamily());
    this.shapeType = ClassName.bestGuess(family.runtimeShape());
    this.openCl = new OpenClWriter(plan);
    this.java = spec.runsOn(Platform.JAVA);
    this.openClRoom = spec.runsOn(Platform.OPENCL);
    this.steps = self.nestedClass("Steps");
    this.cpuSteps = self.nestedClass("CpuSteps");
    this.openClSteps = self.nestedClass("OpenClSteps");
  }

  /** The generated file for {@code plan}; {@code originating} ties it to its interface for incremental builds. */
  public static JavaFile write(Plan plan, javax.lang.model.element.Element originating) {
    return new ModelWriter(plan).file(originating);
  }

  private JavaFile file(javax.lang.model.element.Element originating) {
    ClassName iface = ClassName.get(spec.packageName(), spec.interfaceName());
    TypeSpec.Builder type = TypeSpec.classBuilder(self)
        .addModifiers(Modifier.PUBLIC, Modifier.FINAL)
        .addSuperinterface(iface)
        .addAnnotation(AnnotationSpec.builder(GENERATED).addMember("value", "$S", GENERATOR).build())
        .addJavadoc(classDoc());
    if (originating != null) {
      type.addOriginatingElement(originating);
    }
    if (spec.family().encoder()) {
      new EncoderWriter(this).addTo(type);
      return javaFile(spec, type);
    }
    addConstants(type);
    addFields(type);
    addFactories(type);
    addCausalLmMethods(type);
    type.addType(stepsInterface());
    if (java) {
      type.addType(cpuRoom());
    }
    if (openClRoom) {
      type.addType(openClRoom());
    }
    return javaFile(spec, type);
  }

  /** A generated file of {@code spec}'s package: two-space indents, and the comment that says not to edit it. */
  static JavaFile javaFile(ModelSpec spec, TypeSpec.Builder type) {
    return JavaFile.builder(spec.packageName(), type.build())
        .indent("  ")
        .skipJavaLangImports(true)
        .addFileComment("Generated by Unroll from $L. Do not edit: change the annotation instead.",
            spec.interfaceName())
        .build();
  }

  CodeBlock classDoc() {
    CodeBlock.Builder doc = CodeBlock.builder();
    doc.add("$L, compiled by Unroll for one shape: $L.\n\n", spec.interfaceName(), spec.describe());
    doc.add("<p>Every size below is a constant and every layer a straight run of kernel calls. All memory is\n"
        + "allocated here, once; {@code forward}, {@code backward} and {@code AdamW.step} allocate nothing.\n\n");
    if (spec.family().encoder()) {
      doc.add(EncoderWriter.usage(spec, family));
    } else {
      doc.add(decoderUsage());
    }
    doc.add("<p>$L parameters ($L trainable); $L training FLOPs per step ($L $L).\n\n",
        plan.parameterCount(), plan.trainableParameters(), plan.trainingFlopsPerStep(), plan.tokensPerStep(),
        spec.family() == dev.unroll.Family.VIT ? "positions" : "tokens");
    doc.add(Footprint.memoryMap(plan));
    return doc.build();
  }

  /** A decoder's lines of use, for the class's Javadoc. */
  private CodeBlock decoderUsage() {
    CodeBlock.Builder doc = CodeBlock.builder();
    doc.add("<pre>{@code\n");
    doc.add("$L model = $L.create(Backend.SIMD, 1337);       // $L init, seeded\n", spec.interfaceName(),
        spec.generatedName(), family.displayName());
    doc.add("AdamW opt = AdamW.of(model).lr(1e-3f);\n");
    doc.add("int[] x = new int[$L.TOKENS], y = new int[$L.TOKENS];   // BATCH rows of CONTEXT tokens\n",
        spec.generatedName(), spec.generatedName());
    doc.add("float loss = model.forward(x, y); model.zeroGrad(); model.backward(); opt.step();\n");
    doc.add("model.save(Path.of(\"model.safetensors\"));                  // Hugging Face $L names\n",
        family.displayName());
    doc.add("$L again = $L.load(Backend.SIMD, Path.of(\"model.safetensors\")); // or an $L .bin\n",
        spec.interfaceName(), spec.generatedName(), family.reference());
    doc.add("model.reset(); float[] next = model.decode(token);          // KV-cache decoding\n");
    doc.add("}</pre>\n\n");
    return doc.build();
  }

  private void addConstants(TypeSpec.Builder type) {
    dim(type, "VOCAB", spec.vocab(), "Distinct tokens (vocab).");
    dim(type, "PADDED_VOCAB", plan.paddedVocab(), "Classifier rows: VOCAB rounded up; padded logits never count.");
    addDimensions(type, "Positions per row (context).", "Tokens per step: BATCH * CONTEXT.");
    dim(type, "KV_COUNT", plan.kvCount(), "Floats in the KV cache: keys and values of every layer and position.");
    dim(type, "DECODE_COUNT", plan.decodeCount(), "Floats of the one decoded position's activations.");
    addShapeAndOffsets(type);
  }

  /**
   * The dimensions every model declares, from CONTEXT to HIDDEN, the family's own, TOKENS and the two training
   * arenas' counts: CONTEXT and TOKENS documented as {@code context} and {@code tokens} say.
   */
  void addDimensions(TypeSpec.Builder type, String context, String tokens) {
    dim(type, "CONTEXT", spec.context(), context);
    dim(type, "DIM", spec.dim(), "Residual width (dim).");
    dim(type, "HEADS", spec.heads(), "Attention heads (heads).");
    dim(type, "HEAD_SIZE", spec.dim() / spec.heads(), "DIM / HEADS.");
    dim(type, "LAYERS", spec.layers(), "Blocks (layers).");
    dim(type, "BATCH", spec.batch(), "Rows per step (batch).");
    dim(type, "HIDDEN", spec.hidden(), "MLP width (hidden).");
    for (Plan.Dimension d : plan.familyDimensions()) {
      dim(type, d.name(), d.value(), d.doc());
    }
    dim(type, "TOKENS", (int) plan.tokensPerStep(), tokens);
    dim(type, "PARAMETER_COUNT", plan.parameterCount(), "Floats in the parameter (and gradient) arena.");
    dim(type, "ACTIVATION_COUNT", plan.activationCount(), "Floats in the activation arena.");
    dim(type, "ACTIVATION_GRADIENT_COUNT", plan.activationGradientCount(),
        "Floats in the activation-gradient arena: gradients whose lives do not meet share floats.");
  }

  /** FLOPS_PER_STEP, SHAPE and every tensor's offset constant. */
  void addShapeAndOffsets(TypeSpec.Builder type) {
    type.addField(FieldSpec.builder(TypeName.LONG, "FLOPS_PER_STEP", Modifier.PUBLIC, Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc("Training FLOPs per step: 6·N·B·T + 12·L·C·B·T², N the trainable parameters.\n")
        .initializer("$LL", plan.trainingFlopsPerStep()).build());
    type.addField(FieldSpec.builder(TypeName.LONG, "TRAINING_BYTES", Modifier.PUBLIC, Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc("Bytes a model and its AdamW hold for training: parameters, gradients, two moments, activations\n"
            + "and activation gradients ($L in llm.c's layout, every activation kept per layer and mirrored by its\n"
            + "gradient).\n", plan.mirroredTrainingBytes())
        .initializer("$LL", plan.totalTrainingBytes()).build());
    type.addField(FieldSpec.builder(shapeType, "SHAPE", Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L\n", plan.runtimeShape().doc())
        .initializer("new $T($L)", shapeType, String.join(", ", plan.runtimeShape().arguments()))
        .build());
    for (Tensor t : plan.parameters()) {
      offset(type, t, "Parameter " + t.name());
    }
    for (Tensor t : plan.activations()) {
      offset(type, t, "Activation");
    }
    for (GradientLayout.Gradient g : plan.activationGradients()) {
      offset(type, g.tensor(), "Activation gradient, live in " + Footprint.live(g) + ":");
    }
    for (Tensor t : plan.kvCache()) {
      offset(type, t, "KV cache");
    }
    for (Tensor t : plan.decodeActivations()) {
      offset(type, t, "Decode activation");
    }
  }

  static void dim(TypeSpec.Builder type, String name, int value, String doc) {
    type.addField(FieldSpec.builder(TypeName.INT, name, Modifier.PUBLIC, Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L\n", doc).initializer("$L", value).build());
  }

  private static void offset(TypeSpec.Builder type, Tensor t, String what) {
    type.addField(FieldSpec.builder(TypeName.INT, t.constant(), Modifier.STATIC, Modifier.FINAL)
        .addJavadoc("$L $L.\n", what, t.shapeDoc()).initializer("$L", t.offset()).build());
  }

  private void addFields(TypeSpec.Builder type) {
    addCommonFields(type);
    type.addField(FieldSpec.builder(FLOATS, "decodeLogits", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("What decode returns: VOCAB logits, overwritten by each call.\n")
        .initializer("new float[VOCAB]").build());
    type.addField(FieldSpec.builder(TypeName.INT, "pos", Modifier.PRIVATE)
        .addJavadoc("Tokens in the KV cache: the position of the next decoded token.\n").build());
    addStateField(type);
  }

  /** The fields every model has: its backend, the parameter arrays and their tensors, the backend's steps. */
  void addCommonFields(TypeSpec.Builder type) {
    type.addField(BACKEND, "backend", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(FieldSpec.builder(FLOATS, "params", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The parameters in Java arrays: the model's own on the CPU; on a device, the host copy that\n"
            + "parameters() and parametersChanged() move to and from it. The same holds for grads.\n").build());
    type.addField(FLOATS, "grads", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(PARAMETERS, "parameters", Modifier.PRIVATE, Modifier.FINAL);
    type.addField(FieldSpec.builder(steps, "steps", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The backend's steps, chosen once: $L.\n", String.join(" or ", roomNames())).build());
  }

  /** What the last forward left, which backward and the readers check. */
  static void addStateField(TypeSpec.Builder type) {
    type.addField(FieldSpec.builder(TypeName.INT, "state", Modifier.PRIVATE)
        .addJavadoc("What the last forward left: 0 nothing usable, 1 logits, 2 logits and a finite loss.\n")
        .build());
  }

  /** The rooms this model has, for its docs. */
  List<String> roomNames() {
    return Stream.of(java ? "CpuSteps (SCALAR, SIMD)" : "", openClRoom ? "OpenClSteps (OPENCL)" : "")
        .filter(name -> !name.isEmpty())
        .toList();
  }

  void addFactories(TypeSpec.Builder type) {
    boolean decoder = !spec.family().encoder();
    MethodSpec.Builder constructor = MethodSpec.constructorBuilder().addModifiers(Modifier.PRIVATE)
        .addParameter(BACKEND, "backend");
    if (decoder) {
      constructor.addJavadoc("@param params the parameter arena: a new one, or the one a file was read into\n"
          + "@param training whether to make the gradients and the training activations; without them the model\n"
          + "    only decodes\n")
          .addParameter(FLOATS, "params")
          .addParameter(TypeName.BOOLEAN, "training");
    }
    constructor.addStatement("this.backend = $T.requireNonNull(backend, $S)", OBJECTS, "backend");
    // a backend of a platform the class was compiled without: say which annotation value to change
    String without = spec.generatedName() + " was compiled without Platform.%s: add it to @Transformer(platforms = "
        + "...) on " + spec.interfaceName() + " to run on %s";
    if (!openClRoom) {
      constructor.beginControlFlow("if (backend == $T.OPENCL)", BACKEND)
          .addStatement("throw new $T($S)", UnsupportedOperationException.class,
              String.format(Locale.ROOT, without, "OPENCL", "Backend.OPENCL"))
          .endControlFlow();
    }
    if (!java) {
      constructor.beginControlFlow("if (backend != $T.OPENCL)", BACKEND)
          .addStatement("throw new $T($S + backend)", UnsupportedOperationException.class,
              String.format(Locale.ROOT, without, "JAVA", "Backend."))
          .endControlFlow();
    }
    if (decoder) {
      constructor.addStatement("this.params = params")
          .addStatement("this.grads = training ? new float[PARAMETER_COUNT] : null");
    } else {
      constructor.addStatement("this.params = new float[PARAMETER_COUNT]")
          .addStatement("this.grads = new float[PARAMETER_COUNT]");
    }
    constructor.addStatement("this.parameters = new $T(params, grads, $T.FAMILY.tensors(SHAPE))", PARAMETERS, runtimeFamily);
    if (java && openClRoom) {
      constructor.addStatement("this.steps = backend == $T.OPENCL ? new $T(params, grads)\n: new $T(backend.kernels(), "
          + "params, grads)", BACKEND, openClSteps, cpuSteps);
    } else if (java) {
      constructor.addStatement("this.steps = new $T(backend.kernels(), params, grads)", cpuSteps);
    } else {
      constructor.addStatement("this.steps = new $T(params, grads)", openClSteps);
    }
    type.addMethod(constructor.build());
    String made = decoder ? "new $T(backend, new float[PARAMETER_COUNT], true)" : "new $T(backend)";
    type.addMethod(MethodSpec.methodBuilder("create").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
        .addJavadoc("A model with $L's initialisation from {@code seed}: the same seed gives the same weights.\n",
            family.displayName())
        .returns(self)
        .addParameter(BACKEND, "backend")
        .addParameter(TypeName.LONG, "seed")
        .addStatement("$T model = " + made, self, self)
        .addStatement("$T.FAMILY.init(model.parameters, SHAPE, seed)", runtimeFamily)
        .addStatement("model.parametersChanged()")
        .addStatement("return model")
        .build());
    type.addMethod(MethodSpec.methodBuilder("load").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
        .addJavadoc(spec.family().encoder() ? EncoderWriter.loadDoc(family) : CodeBlock.of(
            "A model with the weights of {@code path}: safetensors with Hugging Face $L names, or an\n"
            + "$L checkpoint (told apart by their first bytes). A file whose shapes differ from this\n",
            family.displayName(), family.checkpointFormat()))
        .addJavadoc(""
            + "model's, or that is truncated or corrupt, is an exception naming the file and the problem; only the\n"
            + "context may differ: a checkpoint made for a longer one loads (its first {@code CONTEXT} positions),\n"
            + "and says so once on the {@code System.Logger} {@code dev.unroll.runtime.format} at INFO.\n")
        .returns(self)
        .addException(IO_EXCEPTION)
        .addParameter(BACKEND, "backend")
        .addParameter(PATH, "path")
        .addStatement("$T model = " + made, self, self)
        .addStatement("$T.FAMILY.load(model.parameters, SHAPE, path)", runtimeFamily)
        .addStatement("model.parametersChanged()")
        .addStatement("return model")
        .build());
    if (decoder) {
      addDecodingFactories(type);
    }
  }

  /**
   * A decoder's factories of a model made for decoding only: the parameters, KV cache and decode buffers, and no
   * gradients, training activations or optimizer; a checkpoint is read straight into the arena the model keeps.
   */
  private void addDecodingFactories(TypeSpec.Builder type) {
    String only = "<p>Made for decoding only: it holds the parameters, the KV cache and one position's activations\n"
        + "($L bytes in all), and no gradients or training activations, so {@code decode} and the parameters'\n"
        + "methods work and {@code forward}, {@code backward}, {@code zeroGrad}, {@code logits} and {@code AdamW}\n"
        + "refuse it.\n";
    String bytes = String.format(Locale.ROOT, "%,d", plan.parameterBytes() + plan.decodeBytes());
    type.addMethod(MethodSpec.methodBuilder("createForDecoding").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
        .addJavadoc("What {@link #create} makes, for decoding only.\n\n")
        .addJavadoc(only, bytes)
        .returns(self)
        .addParameter(BACKEND, "backend")
        .addParameter(TypeName.LONG, "seed")
        .addStatement("$T model = new $T(backend, new float[PARAMETER_COUNT], false)", self, self)
        .addStatement("$T.FAMILY.init(model.parameters, SHAPE, seed)", runtimeFamily)
        .addStatement("model.parametersChanged()")
        .addStatement("return model")
        .build());
    type.addMethod(MethodSpec.methodBuilder("loadForDecoding").addModifiers(Modifier.PUBLIC, Modifier.STATIC)
        .addJavadoc("What {@link #load} makes, for decoding only, with the same checks and messages; the file is\n"
            + "read once, into the arena the model keeps, so the weights are never held twice. While it is read,\n"
            + "a {@link $T} compiles the matrix-vector products of decoding on another thread (for a model of 4M\n"
            + "parameters or more), so that the first token runs compiled code.\n\n", DECODE_WARMUP)
        .addJavadoc(only, bytes)
        .returns(self)
        .addException(IO_EXCEPTION)
        .addParameter(BACKEND, "backend")
        .addParameter(PATH, "path")
        .addStatement("$T.requireNonNull(backend, $S)", OBJECTS, "backend")
        .addStatement("$T warmup = $T.start(backend, DIM, HIDDEN)", DECODE_WARMUP, DECODE_WARMUP)
        .addStatement("$T model", self)
        .beginControlFlow("try")
        .addStatement("model = new $T(backend, $T.FAMILY.read(SHAPE, path), false)", self, runtimeFamily)
        .nextControlFlow("finally")
        .addStatement("warmup.close()")
        .endControlFlow()
        .addStatement("model.parametersChanged()")
        .addStatement("return model")
        .build());
    type.addMethod(MethodSpec.methodBuilder("requireTraining").addModifiers(Modifier.PRIVATE)
        .addJavadoc("Refuses {@code method} on a model made for decoding only, saying how to make one that trains.\n")
        .addParameter(String.class, "method")
        .beginControlFlow("if (grads == null)")
        .addStatement("throw new $T(method + $S)", IllegalStateException.class, "() needs a model made with create "
            + "or load: " + spec.generatedName() + ".createForDecoding and loadForDecoding make a model that "
            + "only decodes (no gradients or training activations)")
        .endControlFlow()
        .build());
  }

  /** The {@code CausalLm} methods: each written once, with its checks, around the backend's {@code steps}. */
  private void addCausalLmMethods(TypeSpec.Builder type) {
    addIdentityMethods(type, MODEL_SHAPE);

    type.addMethod(override("forward", TypeName.FLOAT)
        .addParameter(INTS, "inputs")
        .addParameter(INTS, "targets")
        .addStatement("requireTraining($S)", "forward")
        .addStatement("$T.tokens($S, inputs, BATCH, CONTEXT, VOCAB)", CHECKS, "inputs")
        .beginControlFlow("if (targets != null)")
        .addStatement("$T.tokens($S, targets, BATCH, CONTEXT, VOCAB)", CHECKS, "targets")
        .endControlFlow()
        .addStatement("state = 0")
        .addStatement("steps.forward(inputs)")
        .beginControlFlow("if (targets == null)")
        .addStatement("state = 1")
        .addStatement("return Float.NaN")
        .endControlFlow()
        .addStatement("float loss = steps.loss(targets)")
        .beginControlFlow("if (!Float.isFinite(loss))")
        .addStatement("state = 1")
        .addStatement("throw new $T($S + loss + $S)", ArithmeticException.class,
            spec.generatedName() + ": the loss is ",
            "; the parameters hold NaN or infinity, or the learning rate is too high (no state was changed)")
        .endControlFlow()
        .addStatement("state = 2")
        .addStatement("return loss")
        .build());

    addBackward(type, "forward(inputs, targets)", true);

    Tensor logits = plan.activation("LOGITS");
    type.addMethod(override("logits", FLOATS)
        .addParameter(TypeName.INT, "row")
        .addParameter(TypeName.INT, "position")
        .addParameter(FLOATS, "dst")
        .addStatement("requireTraining($S)", "logits")
        .beginControlFlow("if (state == 0)")
        .addStatement("throw new $T($S)", IllegalStateException.class, "no logits: call forward first")
        .endControlFlow()
        .addStatement("$T.position(row, position, BATCH, CONTEXT)", CHECKS)
        .beginControlFlow("if (dst.length < VOCAB)")
        .addStatement("throw new $T($S + dst.length + $S)", IllegalArgumentException.class, "dst has length ",
            "; logits need VOCAB = " + spec.vocab())
        .endControlFlow()
        .addStatement("steps.logits($L + (row * CONTEXT + position) * PADDED_VOCAB, dst)", logits.constant())
        .addStatement("return dst")
        .build());

    type.addMethod(override("decode", FLOATS)
        .addParameter(TypeName.INT, "token")
        .beginControlFlow("if (token < 0 || token >= VOCAB)")
        .addStatement("throw new $T($S + token + $S)", IllegalArgumentException.class, "token ",
            " is outside the vocabulary [0, " + spec.vocab() + ")")
        .endControlFlow()
        .beginControlFlow("if (pos >= CONTEXT)")
        .addStatement("throw new $T($S)", IllegalStateException.class,
            "the KV cache holds CONTEXT = " + spec.context() + " positions and is full; call reset()")
        .endControlFlow()
        .addStatement("steps.decode(token, pos, decodeLogits)")
        .addStatement("pos++")
        .addStatement("return decodeLogits")
        .build());
    type.addMethod(override("reset", TypeName.VOID).addStatement("pos = 0").build());

    MethodSpec.Builder weights = override("decodeWeights", TypeName.VOID)
        .addParameter(DECODE_WEIGHTS, "format")
        .addStatement("$T.requireNonNull(format, $S)", OBJECTS, "format");
    if (plan.decodeInt8().isEmpty()) {
      weights.beginControlFlow("if (format == $T.INT8)", DECODE_WEIGHTS)
          .addStatement("throw new $T($S)", UnsupportedOperationException.class, "int8 weights share a scale "
              + "per 32 weights of a row, so every matrix's input width must be a multiple of 32; this shape has "
              + widths())
          .endControlFlow();
    }
    type.addMethod(weights.addStatement("steps.decodeWeights(format)").build());
    type.addMethod(override("position", TypeName.INT).addStatement("return pos").build());

    addParameterMethods(type);
  }

  /** {@code shape()}, typed as {@code shapeInterface}, and {@code backend()}. */
  static void addIdentityMethods(TypeSpec.Builder type, ClassName shapeInterface) {
    type.addMethod(override("shape", shapeInterface).addStatement("return SHAPE").build());
    type.addMethod(override("backend", BACKEND).addStatement("return backend").build());
  }

  /**
   * {@code backward()}, which needs a forward with a finite loss ({@code forward} names that call), and zeroGrad;
   * both refuse a model made for decoding only where {@code decodingOnly} says the class can make one.
   */
  static void addBackward(TypeSpec.Builder type, String forward, boolean decodingOnly) {
    MethodSpec.Builder backward = override("backward", TypeName.VOID);
    MethodSpec.Builder zeroGrad = override("zeroGrad", TypeName.VOID);
    if (decodingOnly) {
      backward.addStatement("requireTraining($S)", "backward");
      zeroGrad.addStatement("requireTraining($S)", "zeroGrad");
    }
    type.addMethod(backward
        .beginControlFlow("if (state != 2)")
        .addStatement("throw new $T($S)", IllegalStateException.class,
            "backward() needs a " + forward + " that returned a finite loss first")
        .endControlFlow()
        .addStatement("steps.backward()")
        .build());
    type.addMethod(zeroGrad.addStatement("steps.zeroGrad()").build());
  }

  /** The parameters' methods every model has: reading, changing, the device's, finishing, saving. */
  void addParameterMethods(TypeSpec.Builder type) {
    type.addMethod(override("parameters", PARAMETERS)
        .addStatement("steps.parametersToHost()")
        .addStatement("return parameters")
        .build());
    type.addMethod(override("parametersChanged", TypeName.VOID).addStatement("steps.parametersToDevice()").build());
    type.addMethod(override("deviceParameters", DEVICE_PARAMETERS).addStatement("return steps.deviceParameters()")
        .build());
    type.addMethod(override("finish", TypeName.VOID).addStatement("steps.finish()").build());
    type.addMethod(override("safetensors", SAFETENSORS_CONTENTS)
        .addParameter(PATH, "path")
        .addStatement("return $T.FAMILY.safetensors(parameters(), SHAPE, path)", runtimeFamily)
        .build());
    type.addMethod(override("loadParameters", TypeName.VOID)
        .addParameter(PATH, "path")
        .addException(IO_EXCEPTION)
        .addStatement("$T.FAMILY.load(parameters(), SHAPE, path)", runtimeFamily)
        .addStatement("parametersChanged()")
        .build());
  }

  /**
   * The steps a backend provides, one method for each thing the public methods ask of it. One implementation per
   * platform the model runs on, chosen once at construction: a call through a final field with at most two
   * implementations, a few per training step, never one per kernel.
   */
  private TypeSpec stepsInterface() {
    return TypeSpec.interfaceBuilder(steps).addModifiers(Modifier.PRIVATE)
        .addJavadoc("What a backend does for the public methods above, which check their arguments and state first.\n")
        .addMethod(step("forward", TypeName.VOID, "Runs the forward pass over {@code inputs}, up to the logits.")
            .addParameter(INTS, "inputs").build())
        .addMethod(step("loss", TypeName.FLOAT, "The mean cross-entropy of the last forward's logits against "
            + "{@code targets}.").addParameter(INTS, "targets").build())
        .addMethod(step("logits", TypeName.VOID, "Copies the VOCAB logits at activation {@code offset} into "
            + "{@code dst}.").addParameter(TypeName.INT, "offset").addParameter(FLOATS, "dst").build())
        .addMethod(step("decode", TypeName.VOID, "Decodes {@code token} at position {@code pos} into the KV cache\n"
            + "and writes the next token's VOCAB logits into {@code logits}.")
            .addParameter(TypeName.INT, "token").addParameter(TypeName.INT, "pos").addParameter(FLOATS, "logits")
            .build())
        .addMethod(step("decodeWeights", TypeName.VOID, "Makes, or drops, the copy of the weights decode reads.")
            .addParameter(DECODE_WEIGHTS, "format").build())
        .addMethods(commonSteps())
        .build();
  }

  /** The steps every model's backend provides, beside those of its kind of model. */
  static List<MethodSpec> commonSteps() {
    return List.of(
        step("backward", TypeName.VOID, "Adds the last loss's gradient into the gradients.").build(),
        step("zeroGrad", TypeName.VOID, "Sets every gradient to zero.").build(),
        step("parametersToHost", TypeName.VOID, "Copies the parameters and gradients into the Java arrays where "
            + "they live elsewhere.").build(),
        step("parametersToDevice", TypeName.VOID, "Copies the Java arrays' parameters and gradients to where they "
            + "live, if elsewhere.").build(),
        step("deviceParameters", DEVICE_PARAMETERS, "The parameters' device, or null on the CPU.").build(),
        step("finish", TypeName.VOID, "Waits for queued work.").build());
  }

  static MethodSpec.Builder step(String name, TypeName returns, String doc) {
    return MethodSpec.methodBuilder(name).addModifiers(Modifier.PUBLIC, Modifier.ABSTRACT).returns(returns)
        .addJavadoc("$L\n", doc);
  }

  /**
   * The SCALAR and SIMD backends: the arenas in Java arrays and one method per stage of straight-line kernel calls
   * on the backend's {@code Kernels}.
   */
  private TypeSpec cpuRoom() {
    TypeSpec.Builder room = TypeSpec.classBuilder(cpuSteps)
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
        .addSuperinterface(steps)
        .addJavadoc("The SCALAR and SIMD backends: every arena a Java array, every stage a method of kernel calls.\n");
    room.addField(KERNELS, "k", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FLOATS, "params", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FLOATS, "grads", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FieldSpec.builder(FLOATS, "acts", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The training arenas and tokens: null in a model made for decoding only (no grads).\n").build());
    room.addField(FLOATS, "dacts", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FieldSpec.builder(INTS, "inputs", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The current step's tokens, copied so that backward sees what forward saw.\n").build());
    room.addField(INTS, "targets", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FieldSpec.builder(FLOATS, "kv", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new float[KV_COUNT]").build());
    room.addField(FieldSpec.builder(FLOATS, "dec", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new float[DECODE_COUNT]").build());
    room.addField(FieldSpec.builder(ArrayTypeName.of(TypeName.SHORT), "bf16", Modifier.PRIVATE)
        .addJavadoc("A bfloat16 copy of params for decoding, or null: see decodeWeights.\n").build());
    if (!plan.decodeInt8().isEmpty()) {
      room.addField(FieldSpec.builder(ArrayTypeName.of(TypeName.BYTE), "int8", Modifier.PRIVATE)
          .addJavadoc("An int8 copy of params for decoding, or null: see decodeWeights.\n").build());
      room.addField(FieldSpec.builder(FLOATS, "int8Scales", Modifier.PRIVATE)
          .addJavadoc("The int8 copy's scales, one per 32 weights, or null.\n").build());
    }
    room.addMethod(MethodSpec.constructorBuilder()
        .addParameter(KERNELS, "k")
        .addParameter(FLOATS, "params")
        .addParameter(FLOATS, "grads")
        .addStatement("this.k = k")
        .addStatement("this.params = params")
        .addStatement("this.grads = grads")
        .addStatement("boolean training = grads != null")
        .addStatement("this.acts = training ? new float[ACTIVATION_COUNT] : null")
        .addStatement("this.dacts = training ? new float[ACTIVATION_GRADIENT_COUNT] : null")
        .addStatement("this.inputs = training ? new int[TOKENS] : null")
        .addStatement("this.targets = training ? new int[TOKENS] : null")
        .build());

    MethodSpec.Builder forward = override("forward", TypeName.VOID)
        .addParameter(INTS, "inputs")
        .addStatement("$T.arraycopy(inputs, 0, this.inputs, 0, TOKENS)", System.class);
    for (Stage stage : plan.forward()) {
      forward.addStatement("$L()", stage.method());
    }
    room.addMethod(forward.build());
    room.addMethod(override("loss", TypeName.FLOAT)
        .addParameter(INTS, "targets")
        .addStatement("$T.arraycopy(targets, 0, this.targets, 0, TOKENS)", System.class)
        .addComment("loss = mean of -ln(probs[target]) over the B*T positions")
        .addStatement("return k.crossEntropyForward(acts, $L, acts, $L, this.targets, TOKENS, PADDED_VOCAB)",
            plan.activation("LOSSES").constant(), plan.activation("PROBS").constant())
        .build());
    MethodSpec.Builder backward = override("backward", TypeName.VOID);
    for (Stage stage : plan.backward()) {
      backward.addStatement("$L()", stage.method());
    }
    room.addMethod(backward.build());
    room.addMethod(override("logits", TypeName.VOID)
        .addParameter(TypeName.INT, "offset")
        .addParameter(FLOATS, "dst")
        .addStatement("$T.arraycopy(acts, offset, dst, 0, VOCAB)", System.class)
        .build());

    MethodSpec.Builder decode = override("decode", TypeName.VOID)
        .addParameter(TypeName.INT, "token")
        .addParameter(TypeName.INT, "pos")
        .addParameter(FLOATS, "logits");
    if (!plan.decodeInt8().isEmpty()) {
      decode.beginControlFlow("if (int8 != null)");
      for (Stage stage : plan.decodeInt8()) {
        decode.addStatement("$L($L)", stage.method(), String.join(", ", stageParameters(stage)));
      }
      decode.nextControlFlow("else if (bf16 == null)");
    } else {
      decode.beginControlFlow("if (bf16 == null)");
    }
    for (Stage stage : plan.decode()) {
      decode.addStatement("$L($L)", stage.method(), String.join(", ", stageParameters(stage)));
    }
    decode.nextControlFlow("else");
    for (Stage stage : plan.decodeBf16()) {
      decode.addStatement("$L($L)", stage.method(), String.join(", ", stageParameters(stage)));
    }
    room.addMethod(decode.endControlFlow()
        .addStatement("$T.arraycopy(dec, $L, logits, 0, VOCAB)", System.class,
            plan.decodeActivation("DEC_LOGITS").constant())
        .build());

    List<MethodSpec> bf16Packing = packing(plan.decodeBf16(), Kernel.MATMUL_FORWARD_BF16);
    List<MethodSpec> int8Packing = packing(plan.decodeInt8(), Kernel.MATMUL_FORWARD_INT8);
    MethodSpec.Builder weights = override("decodeWeights", TypeName.VOID)
        .addParameter(DECODE_WEIGHTS, "format");
    if (!plan.decodeInt8().isEmpty()) {
      weights.beginControlFlow("if (format == $T.INT8)", DECODE_WEIGHTS)
          .addStatement("byte[] q = int8 == null ? new byte[PARAMETER_COUNT] : int8")
          .addStatement("float[] scales = int8 == null ? new float[$T.scaleCount(PARAMETER_COUNT)] : int8Scales",
              INT8)
          .addStatement("$T.quantize(params, q, scales, PARAMETER_COUNT)", INT8);
      // the kernels may read the weights in a layout of their own
      for (MethodSpec pack : int8Packing) {
        weights.addStatement("$N(q, scales)", pack);
      }
      weights.addStatement("bf16 = null")
          .addStatement("int8Scales = scales")
          .addStatement("int8 = q")
          .addStatement("return")
          .endControlFlow()
          .addStatement("int8 = null")
          .addStatement("int8Scales = null");
    }
    weights.beginControlFlow("if (format == $T.FLOAT32)", DECODE_WEIGHTS)
        .addStatement("bf16 = null")
        .addStatement("return")
        .endControlFlow()
        .addStatement("short[] copy = bf16 == null ? new short[PARAMETER_COUNT] : bf16")
        .addStatement("$T.fromFloats(params, 0, copy, 0, PARAMETER_COUNT)", BF16);
    // the kernels may read the weights in a layout of their own
    for (MethodSpec pack : bf16Packing) {
      weights.addStatement("$N(copy)", pack);
    }
    room.addMethod(weights.addStatement("bf16 = copy").build());
    addCpuCommon(room);
    for (MethodSpec pack : int8Packing) {
      room.addMethod(pack);
    }
    for (MethodSpec pack : bf16Packing) {
      room.addMethod(pack);
    }
    for (Stage stage : plan.forward()) {
      room.addMethod(stageMethod(stage, room));
    }
    for (Stage stage : plan.backward()) {
      room.addMethod(stageMethod(stage, room));
    }
    for (Stage stage : plan.decode()) {
      room.addMethod(stageMethod(stage, room));
    }
    for (Stage stage : plan.decodeBf16()) {
      if (!plan.decode().contains(stage)) {
        room.addMethod(stageMethod(stage, room));
      }
    }
    for (Stage stage : plan.decodeInt8()) {
      if (!plan.decode().contains(stage)) {
        room.addMethod(stageMethod(stage, room));
      }
    }
    return room.build();
  }

  /** The CPU room's steps that every model shares: its parameters are the Java arrays. */
  static void addCpuCommon(TypeSpec.Builder room) {
    room.addMethod(override("zeroGrad", TypeName.VOID).addStatement("k.zero(grads, 0, PARAMETER_COUNT)").build());
    room.addMethod(override("parametersToHost", TypeName.VOID)
        .addComment("the Java arrays are the parameters").build());
    room.addMethod(override("parametersToDevice", TypeName.VOID)
        .addComment("the Java arrays are the parameters").build());
    room.addMethod(override("deviceParameters", DEVICE_PARAMETERS).addStatement("return null").build());
    room.addMethod(override("finish", TypeName.VOID)
        .addComment("every call returns when its work is done").build());
  }

  /** The OpenCL room's steps that every model shares: the parameters' copies, the device, finishing. */
  static void addOpenClCommon(TypeSpec.Builder room) {
    room.addMethod(override("zeroGrad", TypeName.VOID).addStatement("cl.zero(CL_GRADS, 0, PARAMETER_COUNT)")
        .build());
    room.addMethod(override("parametersToHost", TypeName.VOID)
        .addStatement("cl.read(CL_PARAMS, 0, params, 0, PARAMETER_COUNT)")
        .beginControlFlow("if (grads != null)")
        .addStatement("cl.read(CL_GRADS, 0, grads, 0, PARAMETER_COUNT)")
        .endControlFlow()
        .build());
    room.addMethod(override("parametersToDevice", TypeName.VOID)
        .addStatement("cl.write(CL_PARAMS, 0, params, 0, PARAMETER_COUNT)")
        .beginControlFlow("if (grads != null)")
        .addStatement("cl.write(CL_GRADS, 0, grads, 0, PARAMETER_COUNT)")
        .endControlFlow()
        .build());
    room.addMethod(override("deviceParameters", DEVICE_PARAMETERS).addStatement("return cl").build());
    room.addMethod(override("finish", TypeName.VOID).addStatement("cl.finish()").build());
  }

  /**
   * The OPENCL backend: the arenas as device buffers, the model's OpenCL C, and one bound kernel call per op, made
   * once; a step enqueues a run of them.
   */
  private TypeSpec openClRoom() {
    TypeSpec.Builder room = TypeSpec.classBuilder(openClSteps)
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
        .addSuperinterface(steps)
        .addJavadoc("The OPENCL backend: every arena a device buffer, every op a kernel call bound once.\n");
    room.addField(FieldSpec.builder(DEVICE_MODEL, "cl", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The device's buffers and bound kernel calls; also AdamW's moments and update.\n").build());
    room.addField(FLOATS, "params", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FLOATS, "grads", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FieldSpec.builder(TypeName.INT, "clForward", Modifier.PRIVATE)
        .addJavadoc("First kernel call of each run on the device: forward, loss, backward, decode, its end,\n"
            + "and the bfloat16 decode and its end (-1 until decodeWeights(BFLOAT16)).\n").build());
    for (String f : List.of("clLoss", "clBackward", "clDecode", "clDecodeEnd", "clBf16", "clBf16End",
        "clBf16Buffer")) {
      room.addField(TypeName.INT, f, Modifier.PRIVATE);
    }
    room.addField(FieldSpec.builder(INTS, "step", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The decoded token and its position, as the device's step buffer receives them.\n")
        .initializer("new int[2]").build());
    room.addField(FieldSpec.builder(ArrayTypeName.of(TypeName.SHORT), "bf16", Modifier.PRIVATE)
        .addJavadoc("The bfloat16 copy of params that decode reads (on the device), or null: see\n"
            + "decodeWeights.\n").build());
    room.addMethod(MethodSpec.constructorBuilder()
        .addParameter(FLOATS, "params")
        .addParameter(FLOATS, "grads")
        .addStatement("this.params = params")
        .addStatement("this.grads = grads")
        .addComment("the device memory goes when this room becomes unreachable, with the model")
        .addStatement("this.cl = $T.open($T.device(), $S, OPENCL_SOURCE, this)", DEVICE_MODEL, OPEN_CL,
            spec.generatedName())
        .addComment("a model made for decoding only has no grads: its training buffers are left a float each")
        .addStatement("bindDevice(grads != null)")
        .build());
    room.addMethod(override("forward", TypeName.VOID)
        .addParameter(INTS, "inputs")
        .addStatement("cl.write(CL_INPUTS, 0, inputs, 0, TOKENS)")
        .addStatement("cl.run(clForward, clLoss)")
        .build());
    room.addMethod(override("loss", TypeName.FLOAT)
        .addParameter(INTS, "targets")
        .addStatement("cl.write(CL_TARGETS, 0, targets, 0, TOKENS)")
        .addStatement("cl.run(clLoss, clBackward)")
        .addStatement("return cl.read(CL_SCALARS, 0)")
        .build());
    room.addMethod(override("backward", TypeName.VOID)
        .addStatement("cl.run(clBackward, clDecode)")
        .build());
    room.addMethod(override("logits", TypeName.VOID)
        .addParameter(TypeName.INT, "offset")
        .addParameter(FLOATS, "dst")
        .addStatement("cl.read(CL_ACTS, offset, dst, 0, VOCAB)")
        .build());
    room.addMethod(override("decode", TypeName.VOID)
        .addParameter(TypeName.INT, "token")
        .addParameter(TypeName.INT, "pos")
        .addParameter(FLOATS, "logits")
        .addStatement("step[0] = token")
        .addStatement("step[1] = pos")
        .addStatement("cl.write(CL_STEP, 0, step, 0, 2)")
        .addStatement("cl.run(bf16 == null ? clDecode : clBf16, bf16 == null ? clDecodeEnd : clBf16End)")
        .addStatement("cl.read(CL_DEC, $L, logits, 0, VOCAB)", plan.decodeActivation("DEC_LOGITS").constant())
        .build());
    MethodSpec.Builder weights = override("decodeWeights", TypeName.VOID)
        .addParameter(DECODE_WEIGHTS, "format");
    if (!plan.decodeInt8().isEmpty()) {
      weights.beginControlFlow("if (format == $T.INT8)", DECODE_WEIGHTS)
          .addStatement("throw new $T($S)", UnsupportedOperationException.class,
              "int8 weights decode on the SCALAR and SIMD backends; OPENCL decodes in FLOAT32 or BFLOAT16")
          .endControlFlow();
    }
    room.addMethod(weights.beginControlFlow("if (format == $T.FLOAT32)", DECODE_WEIGHTS)
        .addStatement("bf16 = null")
        .addStatement("return")
        .endControlFlow()
        .addStatement("short[] copy = bf16 == null ? new short[PARAMETER_COUNT] : bf16")
        .addStatement("cl.read(CL_PARAMS, 0, params, 0, PARAMETER_COUNT)")
        .addStatement("$T.fromFloats(params, 0, copy, 0, PARAMETER_COUNT)", BF16)
        .addStatement("bindBf16Decode(copy)")
        .addStatement("bf16 = copy")
        .build());
    addOpenClCommon(room);
    addOpenCl(room);
    return room.build();
  }

  /**
   * The OPENCL backend's binding: buffer numbers, the model's OpenCL C, the method that makes the buffers and binds
   * every kernel call in run order, and one binding method per stage.
   */
  private void addOpenCl(TypeSpec.Builder type) {
    MethodSpec.Builder bind = MethodSpec.methodBuilder("bindDevice").addModifiers(Modifier.PRIVATE)
        .addJavadoc("Makes the device buffers (numbered as the CL_ constants) and binds every kernel call; without\n"
            + "{@code training}, the decoding calls only, over training buffers of one element.\n")
        .addParameter(TypeName.BOOLEAN, "training");
    List<MethodSpec> methods = new ArrayList<>();
    bindTraining(type, bind, methods, plan.activation("LOSSES"), plan.activation("PROBS"),
        new Arg.Size("TOKENS", plan.tokensPerStep()), new Arg.Size("PADDED_VOCAB", plan.paddedVocab()),
        "losses = -ln(probs[target]): (B, T)", true);
    bind.addStatement("clDecode = cl.calls()");
    for (Stage stage : plan.decode()) {
      methods.add(openCl.stageMethod(stage));
      bind.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    bind.addStatement("clDecodeEnd = cl.calls()")
        .addStatement("clBf16 = -1")
        .addStatement("clBf16End = -1");
    MethodSpec.Builder bf16 = MethodSpec.methodBuilder("bindBf16Decode").addModifiers(Modifier.PRIVATE)
        .addJavadoc("Copies the bfloat16 weights to the device and, the first time, binds the decode calls that\n"
            + "read them.\n")
        .addParameter(ArrayTypeName.of(TypeName.SHORT), "weights")
        .beginControlFlow("if (clBf16 < 0)")
        .addStatement("clBf16Buffer = cl.shorts(PARAMETER_COUNT)")
        .addStatement("clBf16 = cl.calls()");
    for (Stage stage : plan.decodeBf16()) {
      if (!plan.decode().contains(stage)) {
        methods.add(openCl.stageMethod(stage));
      }
      bf16.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    bf16.addStatement("clBf16End = cl.calls()")
        .endControlFlow()
        .addStatement("cl.write(clBf16Buffer, 0, weights, 0, PARAMETER_COUNT)");
    type.addField(FieldSpec.builder(String.class, "OPENCL_SOURCE", Modifier.PRIVATE, Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc("This model's OpenCL C: its kernels with every size a literal, over Unroll's kernel library.\n")
        .initializer("$S", openCl.source()).build());
    type.addMethod(bind.build());
    type.addMethod(bf16.build());
    methods.forEach(type::addMethod);
  }

  /**
   * The training part of {@code bindDevice()}: the buffers (numbered as the CL_ constants, which it declares), then
   * the forward's calls, the loss's (the cross-entropy of {@code rows} rows over {@code width} probabilities, then
   * their mean) and the backward's, each run's first call in {@code clForward}, {@code clLoss} and
   * {@code clBackward}. Adds the stages' binding methods to {@code methods}.
   */
  void bindTraining(TypeSpec.Builder type, MethodSpec.Builder bind, List<MethodSpec> methods, Tensor losses,
      Tensor probs, Arg.Size rows, Arg.Size width, String comment, boolean decodingOnly) {
    int number = 0;
    for (Map.Entry<String, String> buffer : OpenClWriter.buffers(plan).entrySet()) {
      type.addField(FieldSpec.builder(TypeName.INT, buffer.getKey(), Modifier.PRIVATE, Modifier.STATIC,
          Modifier.FINAL).initializer("$L", number++).build());
      String make = buffer.getValue();
      if (decodingOnly && TRAINING_BUFFERS.contains(buffer.getKey())) {
        make = make.replaceFirst("\\((.*)\\)$", "(training ? $1 : 1)");
      }
      bind.addStatement("cl.$L", make);
    }
    if (decodingOnly) {
      bind.beginControlFlow("if (training)");
    }
    bind.addStatement("cl.trainable(CL_PARAMS, CL_GRADS, PARAMETER_COUNT)")
        .addStatement("clForward = cl.calls()");
    for (Stage stage : plan.forward()) {
      methods.add(openCl.stageMethod(stage));
      bind.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    Op crossEntropy = new Op(Kernel.CROSS_ENTROPY_FORWARD, List.of(new Arg.TensorRef(Arena.ACTS, losses),
        new Arg.TensorRef(Arena.ACTS, probs), new Arg.Targets(), rows, width), comment);
    bind.addStatement("clLoss = cl.calls()")
        .addComment("$L", crossEntropy.comment())
        .addCode(openCl.calls(crossEntropy))
        .addComment("loss = mean of losses")
        .addStatement("int mean = cl.kernel($S, new long[] {1L}, null, CL_ACTS, $L, CL_SCALARS, 0)", "unroll_mean",
            losses.constant())
        .addStatement("cl.setInt(mean, 4, $L)", rows.expression())
        .addStatement("clBackward = cl.calls()");
    for (Stage stage : plan.backward()) {
      methods.add(openCl.stageMethod(stage));
      bind.addStatement("$L()", OpenClWriter.methodName(stage));
    }
    if (decodingOnly) {
      bind.endControlFlow();
    }
  }

  /** A decoder's device buffers that only training uses: one element each in a model made for decoding only. */
  private static final Set<String> TRAINING_BUFFERS =
      Set.of("CL_GRADS", "CL_ACTS", "CL_DACTS", "CL_INPUTS", "CL_TARGETS");

  static MethodSpec.Builder override(String name, TypeName returns) {
    return MethodSpec.methodBuilder(name).addAnnotation(Override.class).addModifiers(Modifier.PUBLIC)
        .returns(returns);
  }

  /** The run-time values a stage reads ({@code token}, {@code pos}), in that order: its method's parameters. */
  static List<String> stageParameters(Stage stage) {
    boolean token = false;
    boolean pos = false;
    for (Op op : stage.ops()) {
      for (Arg arg : op.args()) {
        String expression = switch (arg) {
          case Arg.Row r -> r.index();
          case Arg.Size s -> s.expression();
          default -> "";
        };
        token |= expression.equals("token");
        pos |= expression.equals("pos");
      }
    }
    List<String> names = new ArrayList<>();
    if (token) {
      names.add("token");
    }
    if (pos) {
      names.add("pos");
    }
    return names;
  }

  /**
   * One method per decode stage that reads weights from {@code arena} (bfloat16 or int8), handing each weight it
   * reads to the kernels' {@code pack} once: the CPU kernels' layout of the copy. Per stage, so that each method is
   * as small as the stage's own.
   */
  private static List<MethodSpec> packing(List<Stage> stages, Kernel kernel) {
    String pack = kernel.pack().orElseThrow();
    boolean int8 = kernel == Kernel.MATMUL_FORWARD_INT8;
    Map<String, String> packed = new HashMap<>();
    List<MethodSpec> methods = new ArrayList<>();
    for (Stage stage : stages) {
      MethodSpec.Builder m = MethodSpec.methodBuilder("pack" + Character.toUpperCase(stage.method().charAt(0))
              + stage.method().substring(1))
          .addModifiers(Modifier.PRIVATE)
          .addJavadoc("Lays out the weights that $L reads as the kernels read them.\n", stage.method());
      if (int8) {
        m.addParameter(ArrayTypeName.of(TypeName.BYTE), "w").addParameter(FLOATS, "s");
      } else {
        m.addParameter(ArrayTypeName.of(TypeName.SHORT), "w");
      }
      boolean any = false;
      for (Op op : stage.ops()) {
        if (op.entry() != kernel || !(op.arg(Role.WEIGHT) instanceof Arg.TensorRef w)) {
          continue;
        }
        Arg.Size c = op.size(Role.C);
        Arg.Size oc = op.size(Role.OC);
        String shape = c.value() + "x" + oc.value();
        String before = packed.putIfAbsent(w.tensor().constant(), shape);
        if (before != null) {
          if (!before.equals(shape)) {
            throw new IllegalStateException(w.tensor().constant() + " is read as " + before + " and as " + shape);
          }
          continue;
        }
        m.addStatement("k.$L($L, $L, $L, $L)", pack, int8 ? "w, s" : "w", w.tensor().constant(),
            c.expression(), oc.expression());
        any = true;
      }
      if (any) {
        methods.add(m.build());
      }
    }
    return methods;
  }

  /** The shape's matrix input widths, for the message of a shape that cannot hold int8 weights. */
  private String widths() {
    return "dim " + spec.dim() + " and hidden width " + spec.hidden();
  }

  /**
   * A stage's method. Runs of bfloat16 (or of int8) matrix-vector products of one input row (decoding's q, k and v;
   * a SwiGLU's two up-projections) become one {@code matmulForwardBf16Group} (or {@code Int8Group}) call, whose
   * offsets and row counts are constant arrays added to {@code type}: one job over the threads instead of one per
   * product.
   */
  static MethodSpec stageMethod(Stage stage, TypeSpec.Builder type) {
    MethodSpec.Builder m = MethodSpec.methodBuilder(stage.method()).addModifiers(Modifier.PRIVATE)
        .addJavadoc("$L\n", stage.doc());
    for (String parameter : stageParameters(stage)) {
      m.addParameter(TypeName.INT, parameter);
    }
    List<Op> ops = stage.ops();
    int groups = 0;
    for (int i = 0; i < ops.size(); ) {
      int end = i + 1;
      while (end < ops.size() && groupsWith(ops.subList(i, end), ops.get(end))) {
        end++;
      }
      if (end - i == 1) {
        m.addComment("$L", ops.get(i).comment());
        m.addStatement(call(ops.get(i)));
      } else {
        String name = stage.method().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT) + "_GROUP"
            + groups++;
        List<Op> group = ops.subList(i, end);
        groupArray(type, name + "_OUT", group, op -> ((Arg.TensorRef) op.arg(Role.OUT)).tensor().constant());
        groupArray(type, name + "_WEIGHTS", group, op -> ((Arg.TensorRef) op.arg(Role.WEIGHT)).tensor().constant());
        groupArray(type, name + "_ROWS", group, op -> op.size(Role.OC).expression());
        for (Op op : group) {
          m.addComment("$L", op.comment());
        }
        Op first = group.get(0);
        Arg.TensorRef out = (Arg.TensorRef) first.arg(Role.OUT);
        Arg.TensorRef inp = (Arg.TensorRef) first.arg(Role.INP);
        Arg.TensorRef weight = (Arg.TensorRef) first.arg(Role.WEIGHT);
        m.addComment("the $L products above as one job", group.size());
        m.addStatement("k.$L($L,$W$L,$W$L,$W$L,$W$L,$W$L,$W$L,$W$L)", first.entry().group().orElseThrow(),
            out.arena().field(),
            name + "_OUT",
            inp.arena().field(), inp.tensor().constant(), weight.arena().arrays(), name + "_WEIGHTS", name + "_ROWS",
            first.size(Role.C).expression());
      }
      i = end;
    }
    return m.build();
  }

  /**
   * Whether {@code next} joins {@code group} (see {@link #stageMethod}): products of the same row and width into
   * the same arena, each into a tensor of its own, so that running them at once changes nothing.
   */
  private static boolean groupsWith(List<Op> group, Op next) {
    Op first = group.get(0);
    if (!rowProduct(first) || !rowProduct(next) || first.entry() != next.entry()
        || !(first.arg(Role.OUT) instanceof Arg.TensorRef a && next.arg(Role.OUT) instanceof Arg.TensorRef b
            && a.arena() == b.arena())
        || !first.arg(Role.INP).equals(next.arg(Role.INP))
        || first.size(Role.C).value() != next.size(Role.C).value()) {
      return false;
    }
    for (Op op : group) {
      if (op.arg(Role.OUT).equals(next.arg(Role.OUT))) {
        return false;
      }
    }
    return true;
  }

  /** A bfloat16 or int8 product of one row, without bias, from a tensor that is not its output. */
  private static boolean rowProduct(Op op) {
    return op.entry().group().isPresent()
        && op.arg(Role.OUT) instanceof Arg.TensorRef out
        && op.arg(Role.INP) instanceof Arg.TensorRef inp && !inp.tensor().equals(out.tensor())
        && op.arg(Role.WEIGHT) instanceof Arg.TensorRef
        && op.arg(Role.BIAS) instanceof Arg.None
        && op.size(Role.N).value() == 1;
  }

  private static void groupArray(TypeSpec.Builder type, String name, List<Op> group,
      Function<Op, String> element) {
    type.addField(FieldSpec.builder(INTS, name, Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
        .initializer("{$L}", String.join(", ", group.stream().map(element).toList()))
        .build());
  }

  static CodeBlock call(Op op) {
    CodeBlock.Builder args = CodeBlock.builder();
    List<Arg> list = op.args();
    for (int i = 0; i < list.size(); i++) {
      if (i > 0) {
        args.add(",$W");
      }
      switch (list.get(i)) {
        case Arg.TensorRef r -> args.add("$L, $L", r.arena().arrays(), r.tensor().constant());
        case Arg.At at -> args.add("$L, $L + $L", at.arena().arrays(), at.tensor().constant(), at.offset());
        case Arg.Row r -> args.add("$L, $L + $L * $L", r.arena().arrays(), r.tensor().constant(), r.index(),
            r.rowSize());
        case Arg.None unused -> args.add("null, 0");
        case Arg.Size s -> args.add("$L", s.expression());
        case Arg.Inputs unused -> args.add("inputs");
        case Arg.Targets unused -> args.add("targets");
        case Arg.Types unused -> args.add("types");
        case Arg.Lengths unused -> args.add("lengths");
        case Arg.Pixels unused -> args.add("pixels, 0");
        case Arg.Constant c -> args.add("$L", c.literal());
      }
    }
    return CodeBlock.of("k.$L($L)", op.kernel(), args.build());
  }
}
