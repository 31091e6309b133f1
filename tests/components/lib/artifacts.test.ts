import { artifactBlobName, artifactUrl, containerUrl, roleDefinitionId, STORAGE_BLOB_DATA_READER_ROLE } from "../../../components/lib/artifacts";

describe("artifact URLs", () => {
    it("names one immutable blob per version", () => {
        expect(artifactBlobName("1.4.2")).toBe("app-1.4.2.tgz");
        expect(artifactBlobName("2.0.0-rc.1")).toBe("app-2.0.0-rc.1.tgz");
    });

    it.each([
        ["https://acct.blob.core.windows.net/", "https://acct.blob.core.windows.net/artifacts/app-1.4.2.tgz"],
        ["https://acct.blob.core.windows.net", "https://acct.blob.core.windows.net/artifacts/app-1.4.2.tgz"],
    ])("joins endpoint %s, container and blob without a double slash", (endpoint, url) => {
        expect(artifactUrl(endpoint, "artifacts", "1.4.2")).toBe(url);
    });
});

describe("containerUrl", () => {
    it("ends in a slash, so a blob name can be appended", () => {
        expect(containerUrl("https://acct.blob.core.windows.net//", "artifacts")).toBe("https://acct.blob.core.windows.net/artifacts/");
    });
});

describe("roleDefinitionId", () => {
    it("builds the role id in the scope's subscription", () => {
        const scope = "/subscriptions/1111-2222/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/artifacts";
        expect(roleDefinitionId(scope, STORAGE_BLOB_DATA_READER_ROLE)).toBe(
            "/subscriptions/1111-2222/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        );
    });
    it("refuses a scope that is not an ARM id", () => {
        expect(() => roleDefinitionId("artifacts", STORAGE_BLOB_DATA_READER_ROLE)).toThrow(/not an ARM resource id/);
    });
});
