// Reads a UI message SSE stream with the AI SDK's own parser and message
// assembler, so our streams are checked by code we did not write.
import { jsonSchema, parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema } from "ai";
import { safeValidateTypes } from "@ai-sdk/provider-utils";

/** A ReadableStream<Uint8Array> from a string or bytes. */
export function bytesStream(body) {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}

/**
 * Parses an SSE body into validated UI message chunks (throws on a chunk the
 * SDK's schema rejects) and the assistant messages they assemble into.
 */
export async function readUiStream(body, { terminateOnError = true } = {}) {
  const chunks = [];
  // Any JSON first; then every chunk but the Trigger pseudo-chunks (which the
  // SDK never sees) must pass the SDK's own chunk schema.
  const parsed = parseJsonEventStream({ stream: body, schema: jsonSchema({}) });
  const validated = parsed.pipeThrough(
    new TransformStream({
      async transform(result, controller) {
        if (!result.success) throw result.error;
        const chunk = result.value;
        if (!String(chunk.type).startsWith("trigger:")) {
          const checked = await safeValidateTypes({ value: chunk, schema: uiMessageChunkSchema });
          if (!checked.success) throw checked.error;
        }
        chunks.push(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  const sdkChunks = validated.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        // The Trigger pseudo-chunks are removed by the transport before the
        // SDK sees the stream (PROTOCOL.md §3.3).
        if (!chunk.type.startsWith("trigger:")) controller.enqueue(chunk);
      },
    }),
  );
  let message;
  for await (const m of readUIMessageStream({ stream: sdkChunks, terminateOnError })) message = m;
  return { chunks, message };
}
