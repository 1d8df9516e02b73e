package dev.unroll.processor.emit;

import static dev.unroll.processor.emit.ModelWriter.CHECKS;
import static dev.unroll.processor.emit.ModelWriter.DEVICE_MODEL;
import static dev.unroll.processor.emit.ModelWriter.FLOATS;
import static dev.unroll.processor.emit.ModelWriter.INTS;
import static dev.unroll.processor.emit.ModelWriter.KERNELS;
import static dev.unroll.processor.emit.ModelWriter.OPEN_CL;
import static dev.unroll.processor.emit.ModelWriter.RUNTIME;
import static dev.unroll.processor.emit.ModelWriter.dim;
import static dev.unroll.processor.emit.ModelWriter.override;
import static dev.unroll.processor.emit.ModelWriter.step;

import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.FieldSpec;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;
import dev.unroll.Family;
import dev.unroll.processor.parse.ModelSpec;
import dev.unroll.processor.plan.Arg;
import dev.unroll.processor.plan.Families;
import dev.unroll.processor.plan.Plan;
import dev.unroll.processor.plan.Stage;
import java.util.ArrayList;
import java.util.List;
import javax.lang.model.element.Modifier;

/**
 * Prints an encoder's class (BERT, ViT) over the parts every model shares ({@link ModelWriter}'s): the
 * {@code TextEncoder} or {@code ImageEncoder} methods, each written once with its checks, over a private
 * {@code Steps} interface of the encoder's own, and its rooms: {@code CpuSteps} (SCALAR and SIMD) and
 * {@code OpenClSteps} (OPENCL), each running the plan's stages. An encoder has no KV cache and no decode.
 */
final class EncoderWriter {
  private static final ClassName ENCODER_SHAPE = ClassName.get(RUNTIME, "EncoderShape");
  private static final ClassName ENCODERS = ClassName.get(RUNTIME + ".family", "Encoders");

  private final ModelWriter model;
  private final Plan plan;
  private final ModelSpec spec;
  private final Plan.Encoding encoding;
  /** BERT reads token ids, types and lengths; ViT reads grids. */
  private final boolean text;

  EncoderWriter(ModelWriter model) {
    this.model = model;
    this.plan = model.plan;
    this.spec = model.spec;
    this.encoding = plan.encoding();
    this.text = spec.family() == Family.BERT;
  }

  /** A model's lines of use, for the class's Javadoc. */
  static CodeBlock usage(ModelSpec spec, Families.Entry family) {
    String name = spec.generatedName();
    CodeBlock.Builder doc = CodeBlock.builder().add("<pre>{@code\n");
    doc.add("$L model = $L.create(Backend.SIMD, 1337);       // $L init, seeded\n", spec.interfaceName(), name,
        family.displayName());
    doc.add("AdamW opt = AdamW.of(model).lr(1e-3f);\n");
    if (spec.family() == Family.BERT) {
      doc.add("int[] tokens = new int[$L.TOKENS], lengths = new int[$L.BATCH], labels = new int[$L.BATCH];\n",
          name, name, name);
      doc.add("float loss = model.forward(tokens, lengths, labels); model.zeroGrad(); model.backward(); opt.step();\n");
      doc.add("float[] vectors = model.embed(tokens, null, lengths, new float[$L.BATCH * $L.DIM]);\n", name, name);
    } else {
      doc.add("float[] pixels = new float[$L.BATCH * $L.PIXELS]; int[] labels = new int[$L.BATCH];\n", name, name,
          name);
      doc.add("float loss = model.forward(pixels, labels); model.zeroGrad(); model.backward(); opt.step();\n");
      doc.add("float[] vectors = model.embed(pixels, new float[$L.BATCH * $L.DIM]);\n", name, name);
    }
    doc.add("model.save(Path.of(\"model.safetensors\"));                  // Hugging Face $L names\n",
        family.displayName());
    doc.add("}</pre>\n\n");
    return doc.build();
  }

  /** The first sentences of {@code load}'s Javadoc. */
  static CodeBlock loadDoc(Families.Entry family) {
    String prefix = family.family() == Family.BERT ? "bert." : "vit.";
    return CodeBlock.of("A model with the weights of {@code path}: safetensors with $L's names, with or without\n"
        + "the {@code $L} prefix; a file without the classifier (a bare encoder) loads with the head as\n"
        + "initialised from seed 0. A file whose shapes differ from this\n", family.reference(), prefix);
  }

  /** Adds the constants, fields, factories, public methods, steps and rooms to the class. */
  void addTo(TypeSpec.Builder type) {
    addConstants(type);
    model.addCommonFields(type);
    type.addField(FieldSpec.builder(INTS, "lengths", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The last step's row lengths, which mean pooling reads.\n")
        .initializer("new int[BATCH]").build());
    type.addField(FieldSpec.builder(FLOATS, "hidden", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The last hidden states, read from the backend when embeddings are asked for.\n")
        .initializer("new float[TOKENS * DIM]").build());
    ModelWriter.addStateField(type);
    model.addFactories(type);
    addMethods(type);
    type.addType(stepsInterface());
    if (model.java) {
      type.addType(cpuRoom());
    }
    if (model.openClRoom) {
      type.addType(openClRoom());
    }
  }

  private void addConstants(TypeSpec.Builder type) {
    if (text) {
      dim(type, "VOCAB", spec.vocab(), "Distinct tokens (vocab).");
    }
    model.addDimensions(type, text ? "Positions per row (context)."
        : "Positions per grid: PATCHES and the class token.", "Positions per step: BATCH * CONTEXT.");
    model.addShapeAndOffsets(type);
  }

  private void addMethods(TypeSpec.Builder type) {
    ModelWriter.addIdentityMethods(type, ENCODER_SHAPE);
    MethodSpec.Builder forward = override("forward", TypeName.FLOAT);
    if (text) {
      forward.addParameter(INTS, "tokens").addParameter(INTS, "types").addParameter(INTS, "lengths")
          .addParameter(INTS, "labels")
          .addStatement("$T.lengths(lengths, BATCH, CONTEXT)", CHECKS)
          .addStatement("$T.rows($S, tokens, lengths, BATCH, CONTEXT, VOCAB)", CHECKS, "tokens")
          .beginControlFlow("if (types != null)");
      if (spec.encoder().typeVocab() == 0) {
        forward.addStatement("throw new $T($S)", IllegalArgumentException.class, "this model has no token types"
            + " (typeVocab = 0): pass types = null");
      } else {
        forward.addStatement("$T.rows($S, types, lengths, BATCH, CONTEXT, TYPE_VOCAB)", CHECKS, "types");
      }
      forward.endControlFlow();
    } else {
      forward.addParameter(FLOATS, "pixels").addParameter(INTS, "labels")
          .addStatement("$T.pixels(pixels, BATCH * PIXELS, $S)", CHECKS, "batch * channels * height * width");
    }
    forward.beginControlFlow("if (labels != null)")
        .addStatement("$T.labels(labels, BATCH, CLASSES)", CHECKS)
        .endControlFlow()
        .addStatement("state = 0");
    if (text) {
      forward.addStatement("$T.arraycopy(lengths, 0, this.lengths, 0, BATCH)", System.class)
          .addStatement("steps.forward(tokens, types, this.lengths)");
    } else {
      forward.addStatement("steps.forward(pixels)");
    }
    type.addMethod(forward.beginControlFlow("if (labels == null)")
        .addStatement("state = 1")
        .addStatement("return Float.NaN")
        .endControlFlow()
        .addStatement("float loss = steps.loss(labels)")
        .beginControlFlow("if (!Float.isFinite(loss))")
        .addStatement("state = 1")
        .addStatement("throw new $T($S + loss + $S)", ArithmeticException.class,
            spec.generatedName() + ": the loss is ",
            "; the parameters hold NaN or infinity, or the learning rate is too high (no state was changed)")
        .endControlFlow()
        .addStatement("state = 2")
        .addStatement("return loss")
        .build());
    ModelWriter.addBackward(type, text ? "forward(tokens, types, lengths, labels)" : "forward(pixels, labels)",
        false);
    type.addMethod(override("logits", FLOATS)
        .addParameter(FLOATS, "dst")
        .addCode(requireForward())
        .addStatement("$T.room(dst, BATCH * CLASSES, $S)", CHECKS, "batch * classes logits")
        .addStatement("steps.read($L, dst, BATCH * CLASSES)", encoding.logits().constant())
        .addStatement("return dst")
        .build());
    type.addMethod(override("embeddings", FLOATS)
        .addParameter(FLOATS, "dst")
        .addCode(requireForward())
        .addStatement("$T.room(dst, BATCH * DIM, $S)", CHECKS, "batch * dim embeddings")
        .addStatement("steps.read($L, hidden, TOKENS * DIM)", encoding.hidden().constant())
        .addComment("$L", (spec.encoder().meanPooling() ? "the mean over each row's positions"
            : "each row's first position") + (spec.encoder().normalize() ? ", scaled to unit length" : ""))
        .addStatement("$T.pool(hidden, 0, $L, BATCH, CONTEXT, DIM, $L, $L, dst)", ENCODERS,
            text ? "lengths" : "null", spec.encoder().meanPooling(), spec.encoder().normalize())
        .addStatement("return dst")
        .build());
    model.addParameterMethods(type);
  }

  private static CodeBlock requireForward() {
    return CodeBlock.builder()
        .beginControlFlow("if (state == 0)")
        .addStatement("throw new $T($S)", IllegalStateException.class, "nothing to read: call forward first")
        .endControlFlow()
        .build();
  }

  private TypeSpec stepsInterface() {
    MethodSpec.Builder forward = step("forward", TypeName.VOID, text
        ? "Runs the forward pass over the rows (checked), up to the softmax of the logits."
        : "Runs the forward pass over the grids (checked), up to the softmax of the logits.");
    if (text) {
      forward.addParameter(INTS, "tokens").addParameter(INTS, "types").addParameter(INTS, "lengths");
    } else {
      forward.addParameter(FLOATS, "pixels");
    }
    return TypeSpec.interfaceBuilder(model.steps).addModifiers(Modifier.PRIVATE)
        .addJavadoc("What a backend does for the public methods above, which check their arguments and state first.\n")
        .addMethod(forward.build())
        .addMethod(step("loss", TypeName.FLOAT, "The mean cross-entropy of the last forward's logits against "
            + "{@code labels}.").addParameter(INTS, "labels").build())
        .addMethod(step("read", TypeName.VOID, "Copies {@code n} activations from {@code offset} into {@code dst}.")
            .addParameter(TypeName.INT, "offset").addParameter(FLOATS, "dst").addParameter(TypeName.INT, "n")
            .build())
        .addMethods(ModelWriter.commonSteps())
        .build();
  }

  /** The SCALAR and SIMD backends: every arena a Java array, every stage a method of kernel calls. */
  private TypeSpec cpuRoom() {
    TypeSpec.Builder room = TypeSpec.classBuilder(model.cpuSteps)
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
        .addSuperinterface(model.steps)
        .addJavadoc("The SCALAR and SIMD backends: every arena a Java array, every stage a method of kernel calls.\n");
    room.addField(KERNELS, "k", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FLOATS, "params", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FLOATS, "grads", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FieldSpec.builder(FLOATS, "acts", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new float[ACTIVATION_COUNT]").build());
    room.addField(FieldSpec.builder(FLOATS, "dacts", Modifier.PRIVATE, Modifier.FINAL)
        .initializer("new float[ACTIVATION_GRADIENT_COUNT]").build());
    MethodSpec.Builder forward = override("forward", TypeName.VOID);
    if (text) {
      room.addField(FieldSpec.builder(INTS, "inputs", Modifier.PRIVATE, Modifier.FINAL)
          .addJavadoc("The step's tokens, padding as 0, so that backward sees what forward saw.\n")
          .initializer("new int[TOKENS]").build());
      room.addField(FieldSpec.builder(INTS, "types", Modifier.PRIVATE, Modifier.FINAL)
          .addJavadoc("The step's token types, padding (and no types) as 0.\n")
          .initializer("new int[TOKENS]").build());
      forward.addParameter(INTS, "tokens").addParameter(INTS, "types").addParameter(INTS, "lengths")
          .addStatement("$T.copyRows(tokens, lengths, inputs, BATCH, CONTEXT)", ENCODERS)
          .addStatement("$T.copyRows(types, lengths, this.types, BATCH, CONTEXT)", ENCODERS)
          .addStatement("$T.arraycopy(lengths, 0, this.lengths, 0, BATCH)", System.class);
    } else {
      room.addField(FieldSpec.builder(FLOATS, "pixels", Modifier.PRIVATE)
          .addJavadoc("The step's grids, the caller's (checked) array: only forwardEmbedding reads them, during the\n"
              + "forward, so they need no copy.\n").build());
      forward.addParameter(FLOATS, "pixels")
          .addStatement("this.pixels = pixels");
    }
    room.addField(FieldSpec.builder(INTS, "lengths", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc(text ? "The step's row lengths.\n" : "Every grid's positions: all CONTEXT.\n")
        .initializer("new int[BATCH]").build());
    room.addField(FieldSpec.builder(INTS, "targets", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The step's labels.\n").initializer("new int[BATCH]").build());
    MethodSpec.Builder constructor = MethodSpec.constructorBuilder()
        .addParameter(KERNELS, "k")
        .addParameter(FLOATS, "params")
        .addParameter(FLOATS, "grads")
        .addStatement("this.k = k")
        .addStatement("this.params = params")
        .addStatement("this.grads = grads");
    if (!text) {
      constructor.addStatement("$T.fill(lengths, CONTEXT)", java.util.Arrays.class);
    }
    room.addMethod(constructor.build());
    for (Stage stage : plan.forward()) {
      forward.addStatement("$L()", stage.method());
    }
    room.addMethod(forward.build());
    room.addMethod(override("loss", TypeName.FLOAT)
        .addParameter(INTS, "labels")
        .addStatement("$T.arraycopy(labels, 0, targets, 0, BATCH)", System.class)
        .addComment("loss = mean of -ln(probs[label]) over the BATCH rows")
        .addStatement("return k.crossEntropyForward(acts, $L, acts, $L, targets, BATCH, CLASSES)",
            encoding.losses().constant(), encoding.probs().constant())
        .build());
    MethodSpec.Builder backward = override("backward", TypeName.VOID);
    for (Stage stage : plan.backward()) {
      backward.addStatement("$L()", stage.method());
    }
    room.addMethod(backward.build());
    room.addMethod(override("read", TypeName.VOID)
        .addParameter(TypeName.INT, "offset").addParameter(FLOATS, "dst").addParameter(TypeName.INT, "n")
        .addStatement("$T.arraycopy(acts, offset, dst, 0, n)", System.class)
        .build());
    ModelWriter.addCpuCommon(room);
    for (Stage stage : plan.forward()) {
      room.addMethod(ModelWriter.stageMethod(stage, room));
    }
    for (Stage stage : plan.backward()) {
      room.addMethod(ModelWriter.stageMethod(stage, room));
    }
    return room.build();
  }

  /** The OPENCL backend: every arena a device buffer, every op a kernel call bound once. */
  private TypeSpec openClRoom() {
    TypeSpec.Builder room = TypeSpec.classBuilder(model.openClSteps)
        .addModifiers(Modifier.PRIVATE, Modifier.STATIC, Modifier.FINAL)
        .addSuperinterface(model.steps)
        .addJavadoc("The OPENCL backend: every arena a device buffer, every op a kernel call bound once.\n");
    room.addField(FieldSpec.builder(DEVICE_MODEL, "cl", Modifier.PRIVATE, Modifier.FINAL)
        .addJavadoc("The device's buffers and bound kernel calls; also AdamW's moments and update.\n").build());
    room.addField(FLOATS, "params", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FLOATS, "grads", Modifier.PRIVATE, Modifier.FINAL);
    room.addField(FieldSpec.builder(TypeName.INT, "clForward", Modifier.PRIVATE)
        .addJavadoc("First kernel call of each run on the device: forward, loss, backward, and the end.\n").build());
    for (String f : List.of("clLoss", "clBackward", "clEnd")) {
      room.addField(TypeName.INT, f, Modifier.PRIVATE);
    }
    MethodSpec.Builder constructor = MethodSpec.constructorBuilder()
        .addParameter(FLOATS, "params")
        .addParameter(FLOATS, "grads")
        .addStatement("this.params = params")
        .addStatement("this.grads = grads")
        .addComment("the device memory goes when this room becomes unreachable, with the model")
        .addStatement("this.cl = $T.open($T.device(), $S, OPENCL_SOURCE, this)", DEVICE_MODEL, OPEN_CL,
            spec.generatedName())
        .addStatement("bindDevice()");
    MethodSpec.Builder forward = override("forward", TypeName.VOID);
    if (text) {
      room.addField(FieldSpec.builder(INTS, "inputs", Modifier.PRIVATE, Modifier.FINAL)
          .addJavadoc("The step's tokens and types, padding as 0, as the device receives them.\n")
          .initializer("new int[TOKENS]").build());
      room.addField(FieldSpec.builder(INTS, "types", Modifier.PRIVATE, Modifier.FINAL)
          .initializer("new int[TOKENS]").build());
      forward.addParameter(INTS, "tokens").addParameter(INTS, "types").addParameter(INTS, "lengths")
          .addStatement("$T.copyRows(tokens, lengths, inputs, BATCH, CONTEXT)", ENCODERS)
          .addStatement("$T.copyRows(types, lengths, this.types, BATCH, CONTEXT)", ENCODERS)
          .addStatement("cl.write(CL_INPUTS, 0, inputs, 0, TOKENS)")
          .addStatement("cl.write(CL_TYPES, 0, this.types, 0, TOKENS)")
          .addStatement("cl.write(CL_LENGTHS, 0, lengths, 0, BATCH)");
    } else {
      constructor.addComment("every grid has all CONTEXT positions")
          .addStatement("int[] full = new int[BATCH]")
          .addStatement("$T.fill(full, CONTEXT)", java.util.Arrays.class)
          .addStatement("cl.write(CL_LENGTHS, 0, full, 0, BATCH)");
      forward.addParameter(FLOATS, "pixels")
          .addStatement("cl.write(CL_PIXELS, 0, pixels, 0, BATCH * PIXELS)");
    }
    room.addMethod(constructor.build());
    room.addMethod(forward.addStatement("cl.run(clForward, clLoss)").build());
    room.addMethod(override("loss", TypeName.FLOAT)
        .addParameter(INTS, "labels")
        .addStatement("cl.write(CL_TARGETS, 0, labels, 0, BATCH)")
        .addStatement("cl.run(clLoss, clBackward)")
        .addStatement("return cl.read(CL_SCALARS, 0)")
        .build());
    room.addMethod(override("backward", TypeName.VOID)
        .addStatement("cl.run(clBackward, clEnd)")
        .build());
    room.addMethod(override("read", TypeName.VOID)
        .addParameter(TypeName.INT, "offset").addParameter(FLOATS, "dst").addParameter(TypeName.INT, "n")
        .addStatement("cl.read(CL_ACTS, offset, dst, 0, n)")
        .build());
    ModelWriter.addOpenClCommon(room);
    MethodSpec.Builder bind = MethodSpec.methodBuilder("bindDevice").addModifiers(Modifier.PRIVATE)
        .addJavadoc("Makes the device buffers (numbered as the CL_ constants) and binds every kernel call.\n");
    List<MethodSpec> methods = new ArrayList<>();
    model.bindTraining(room, bind, methods, encoding.losses(), encoding.probs(),
        new Arg.Size("BATCH", spec.batch()), new Arg.Size("CLASSES", spec.encoder().classes()),
        "losses = -ln(probs[label]): (B)", false);
    bind.addStatement("clEnd = cl.calls()");
    room.addField(FieldSpec.builder(String.class, "OPENCL_SOURCE", Modifier.PRIVATE, Modifier.STATIC,
            Modifier.FINAL)
        .addJavadoc("This model's OpenCL C: its kernels with every size a literal, over Unroll's kernel library.\n")
        .initializer("$S", model.openCl.source()).build());
    room.addMethod(bind.build());
    methods.forEach(room::addMethod);
    return room.build();
  }
}
