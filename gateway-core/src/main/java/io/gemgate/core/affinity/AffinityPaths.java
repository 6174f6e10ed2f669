package io.gemgate.core.affinity;

/**
 * What a native Gemini request path says about project-bound resources (README, key affinity): the resource it acts on,
 * whether its body may reference some, and what its answer creates. Paths are without the query.
 */
public final class AffinityPaths {
    /** What a successful answer to the request creates, changes or removes. */
    public enum Effect {
        NONE,
        /** An upload ({@code /upload/v1beta/files}): the start's {@code x-goog-upload-url} session, the final file. */
        UPLOAD,
        /** {@code POST .../cachedContents}: a cache. */
        CREATE_CACHE,
        /** {@code POST ...:batchGenerateContent} or {@code :asyncBatchEmbedContent}: a batch. */
        CREATE_BATCH,
        /** {@code POST .../fileSearchStores}: a store. */
        CREATE_STORE,
        /** {@code DELETE} of a resource. */
        DELETE,
        /** {@code PATCH} of a cache: its new expireTime. */
        PATCH_CACHE,
        /** {@code GET} of a batch: its state (a finished batch's entry ends a grace later) and result file. */
        GET_BATCH
    }

    private static final String[] KINDS = {"files", "cachedContents", "batches", "fileSearchStores"};

    private AffinityPaths() {
    }

    /**
     * The resource a path acts on: {@code files/abc} for {@code /v1beta/files/abc}, {@code cachedContents/x} for
     * {@code /v1/cachedContents/x}, {@code batches/b} for {@code /v1beta/batches/b:cancel},
     * {@code fileSearchStores/s} for {@code /v1beta/fileSearchStores/s} and
     * {@code /upload/v1beta/fileSearchStores/s:uploadToFileSearchStore}; null for none.
     */
    public static String resource(String path) {
        String p = path;
        if (p.startsWith("/upload/")) {
            p = p.substring("/upload".length());
        }
        if (!p.startsWith("/v1")) {
            return null;
        }
        int slash = p.indexOf('/', 1);
        if (slash < 0) {
            return null;
        }
        for (String kind : KINDS) {
            if (p.startsWith(kind, slash + 1) && p.length() > slash + 1 + kind.length()
                    && p.charAt(slash + 1 + kind.length()) == '/') {
                int idStart = slash + 2 + kind.length();
                int end = idStart;
                while (end < p.length() && p.charAt(end) != '/' && p.charAt(end) != ':') {
                    end++;
                }
                if (end == idStart || end - idStart > 128) {
                    return null;
                }
                // files/abc/operations/... and the like act on files/abc too
                return kind + "/" + p.substring(idStart, end);
            }
        }
        return null;
    }

    /** True for the upload endpoint of files. */
    public static boolean isFileUpload(String path) {
        return path.startsWith("/upload/v") && path.endsWith("/files") && path.indexOf('/', 9) == path.length() - 6;
    }

    /** The {@code upload_id} query parameter, or null. */
    public static String uploadId(String query) {
        int start = 0;
        while (start < query.length()) {
            int amp = query.indexOf('&', start);
            int end = amp < 0 ? query.length() : amp;
            if (query.startsWith("upload_id=", start)) {
                String id = query.substring(start + 10, end);
                return id.isEmpty() || id.length() > 512 ? null : id;
            }
            if (amp < 0) {
                break;
            }
            start = amp + 1;
        }
        return null;
    }

    /** True when the body of this request may reference resources (generation, counting, embedding, batches, caches). */
    public static boolean mayReference(String method, String path) {
        if (!method.equals("POST")) {
            return false;
        }
        int colon = path.lastIndexOf(':');
        if (colon > path.lastIndexOf('/')) {
            String m = path.substring(colon + 1);
            return m.equals("generateContent") || m.equals("streamGenerateContent") || m.equals("countTokens")
                    || m.equals("embedContent") || m.equals("batchEmbedContents") || m.equals("batchGenerateContent")
                    || m.equals("asyncBatchEmbedContent");
        }
        return path.endsWith("/cachedContents");
    }

    /** What a successful answer to {@code method path} creates, changes or removes. */
    public static Effect effect(String method, String path) {
        switch (method) {
            case "POST" -> {
                if (isFileUpload(path)) {
                    return Effect.UPLOAD;
                }
                if (path.startsWith("/v1") && path.endsWith("/cachedContents") && path.indexOf('/', 1)
                        == path.length() - "/cachedContents".length()) {
                    return Effect.CREATE_CACHE;
                }
                if (path.startsWith("/v1") && path.endsWith("/fileSearchStores") && path.indexOf('/', 1)
                        == path.length() - "/fileSearchStores".length()) {
                    return Effect.CREATE_STORE;
                }
                if (path.endsWith(":batchGenerateContent") || path.endsWith(":asyncBatchEmbedContent")) {
                    return Effect.CREATE_BATCH;
                }
                return Effect.NONE;
            }
            case "DELETE" -> {
                return resource(path) != null && path.indexOf(':', path.lastIndexOf('/')) < 0
                        && !path.startsWith("/upload/") ? Effect.DELETE : Effect.NONE;
            }
            case "PATCH" -> {
                String r = resource(path);
                return r != null && r.startsWith("cachedContents/") ? Effect.PATCH_CACHE : Effect.NONE;
            }
            case "GET" -> {
                String r = resource(path);
                return r != null && r.startsWith("batches/") ? Effect.GET_BATCH : Effect.NONE;
            }
            default -> {
                return Effect.NONE;
            }
        }
    }
}
