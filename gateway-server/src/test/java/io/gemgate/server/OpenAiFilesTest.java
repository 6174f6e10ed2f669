package io.gemgate.server;

import static io.gemgate.testing.GatewayHarness.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import io.gemgate.core.tokens.TokenLimits;
import io.gemgate.testing.GatewayHarness;
import io.gemgate.testing.LeakDetection;
import io.gemgate.testing.RecordedRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenAI's Files API over Gemini files (README, "OpenAI-compatible API" and key affinity), with the official
 * openai-java SDK: an upload becomes a Gemini file held by one key; chat completions whose {@code file} part names it
 * go to that key; list, retrieve and delete in OpenAI's shapes; with user tokens, each token sees only its own files.
 */
@ExtendWith(LeakDetection.class)
class OpenAiFilesTest {
    private GatewayHarness gw;
    private final List<OpenAIClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(OpenAIClient::close);
        if (gw != null) {
            gw.close();
        }
    }

    private OpenAIClient sdk(String token) {
        OpenAIClient c = OpenAIOkHttpClient.builder().apiKey(token).baseUrl(gw.baseUrl() + "/v1").maxRetries(0)
                .build();
        clients.add(c);
        return c;
    }

    private static ChatCompletionCreateParams askAbout(String fileId) {
        return ChatCompletionCreateParams.builder().model("gemini-2.5-flash")
                .addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder()
                                .text("Summarise the file.").build()),
                        ChatCompletionContentPart.ofFile(ChatCompletionContentPart.File.builder()
                                .file(ChatCompletionContentPart.File.FileObject.builder().fileId(fileId).build())
                                .build())))
                .build();
    }

    private List<RecordedRequest> upstream(String pathPart) {
        return gw.fake().requests().stream().filter(r -> r.path().contains(pathPart)).toList();
    }

    @Test
    void uploadListRetrieveChatAboutItWithTheKeyThatHoldsItAndDelete(@TempDir Path dir) throws Exception {
        gw = GatewayHarness.start(3);
        OpenAIClient c = sdk(TOKEN);
        Path notes = dir.resolve("notes.txt");
        Files.writeString(notes, "hello world");
        FileObject f = c.files().create(FileCreateParams.builder().file(notes).purpose(FilePurpose.ASSISTANTS)
                .build());
        assertThat(f.id()).startsWith("file-");
        assertThat(f.filename()).isEqualTo("notes.txt");
        assertThat(f.purpose()).isEqualTo(FileObject.Purpose.ASSISTANTS);
        assertThat(f.bytes()).isEqualTo(11);
        String holder = upstream("/upload/v1beta/files").get(0).key();
        assertThat(upstream("/upload/v1beta/files").get(0).header("x-goog-upload-protocol")).isEqualTo("multipart");
        assertThat(upstream("/upload/v1beta/files").get(0).body()).contains("\"displayName\":\"notes.txt\"",
                "hello world");

        assertThat(c.files().list().data()).extracting(FileObject::id).containsExactly(f.id());
        FileObject again = c.files().retrieve(f.id());
        assertThat(again.filename()).isEqualTo("notes.txt");
        assertThat(again.purpose()).isEqualTo(FileObject.Purpose.ASSISTANTS);

        for (int i = 0; i < 5; i++) {
            ChatCompletion cc = c.chat().completions().create(askAbout(f.id()));
            assertThat(cc.choices().get(0).message().content()).contains("ok");
        }
        List<RecordedRequest> generations = upstream(":generateContent");
        assertThat(generations).hasSize(5).extracting(RecordedRequest::key).containsOnly(holder);
        assertThat(generations.get(0).body()).contains("\"fileUri\":\"https://generativelanguage.googleapis.com/v1beta/files/"
                + f.id().substring(5) + "\"");

        assertThat(c.files().delete(f.id()).deleted()).isTrue();
        assertThat(upstream("/v1beta/files/" + f.id().substring(5)).stream().filter(r -> r.method().equals("DELETE"))
                .map(RecordedRequest::key)).containsExactly(holder);
        assertThat(c.files().list().data()).isEmpty();
        NotFoundException gone = catchThrowableOfType(NotFoundException.class, () -> c.files().retrieve(f.id()));
        assertThat(gone.getMessage()).contains("No such File object");
    }

    @Test
    void eachUserTokenSeesAndUsesOnlyItsOwnFiles(@TempDir Path dir) throws Exception {
        gw = GatewayHarness.start(2);
        String alice = gw.server().context().tokens().create("alice", TokenLimits.unlimited()).secret();
        String bob = gw.server().context().tokens().create("bob", TokenLimits.unlimited()).secret();
        Path p = dir.resolve("a.md");
        Files.writeString(p, "# alice");
        FileObject f = sdk(alice).files().create(FileCreateParams.builder().file(p).purpose(FilePurpose.USER_DATA)
                .build());
        assertThat(sdk(alice).files().list().data()).hasSize(1);
        assertThat(sdk(bob).files().list().data()).isEmpty();
        assertThat(sdk(TOKEN).files().list().data()).isEmpty();
        assertThat(catchThrowableOfType(NotFoundException.class, () -> sdk(bob).files().retrieve(f.id())))
                .isNotNull();
        assertThat(catchThrowableOfType(NotFoundException.class,
                () -> sdk(bob).chat().completions().create(askAbout(f.id())))).isNotNull();
        assertThat(sdk(alice).chat().completions().create(askAbout(f.id())).choices()).hasSize(1);
    }

    @Test
    void aBadUploadIsAClear400AndCostsNoUpstreamCall() {
        gw = GatewayHarness.start(1);
        var r = gw.send(gw.request("/v1/files").header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "multipart/form-data; boundary=xyz")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("--xyz\r\nContent-Disposition: form-data; "
                        + "name=\"purpose\"\r\n\r\nuser_data\r\n--xyz--\r\n")).build());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("'file'", "\"param\":\"file\"");
        BadRequestException bad = catchThrowableOfType(BadRequestException.class, () -> sdk(TOKEN).chat()
                .completions().create(askAbout("not-a-file-id")));
        assertThat(bad.getMessage()).contains("Invalid file id");
        assertThat(gw.fake().requestCount()).isZero();
    }
}
