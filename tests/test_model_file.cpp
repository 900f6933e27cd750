// Model files (safetensors): round trips, the atomic save, and every kind of malformed file.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "devo.h"
#include "test_paths.h"

namespace {

std::string dir()
{
    std::string d = test_tmp() + "/files";
    make_dirs(d);
    return d;
}

devo_model *sample_model()
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_create(&m, 5), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 4, DEVO_ACT_TANH), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(m, 3, DEVO_ACT_SOFTMAX), DEVO_OK);
    EXPECT_EQ(devo_model_compile(m, DEVO_LOSS_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    EXPECT_EQ(devo_model_init_weights(m, 77), DEVO_OK);
    return m;
}

std::vector<float> weights(const devo_model *m)
{
    std::vector<float> w(devo_model_param_count(m));
    devo_model_get_weights(m, w.data(), w.size());
    return w;
}

TEST(ModelFile, RoundTripKeepsArchitectureLossAndWeightsBitForBit)
{
    devo_model *m = sample_model(), *back = nullptr;
    std::string path = dir() + "/round.safetensors";
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_model_load(&back, path.c_str()), DEVO_OK) << devo_last_error();
    EXPECT_EQ(devo_model_input_dim(back), 5u);
    EXPECT_EQ(devo_model_layer_count(back), 2u);
    size_t units;
    devo_activation act;
    devo_model_layer(back, 1, &units, &act);
    EXPECT_EQ(units, 3u);
    EXPECT_EQ(act, DEVO_ACT_SOFTMAX);
    EXPECT_EQ(devo_model_loss(back), DEVO_LOSS_CATEGORICAL_CROSSENTROPY);
    EXPECT_EQ(weights(back), weights(m));
    // The data section is 8-byte aligned and holds every weight as little-endian F32.
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    FILE *f = fopen(path.c_str(), "rb");
    unsigned char len[8];
    ASSERT_EQ(fread(len, 1, 8, f), 8u);
    fclose(f);
    uint64_t header = 0;
    for (int i = 7; i >= 0; i--) header = header << 8 | len[i];
    EXPECT_EQ(header % 8, 0u);
    EXPECT_EQ((uint64_t)st.st_size, 8 + header + 4 * devo_model_param_count(m));
    EXPECT_EQ(st.st_mode & 0777, 0644u); // not the temporary file's 0600
    devo_model_free(back);
    devo_model_free(m);
}

TEST(ModelFile, SaveReplacesAtomicallyAndLeavesNoTemporaryFile)
{
    devo_model *m = sample_model();
    std::string d = dir() + "/atomic";
    mkdir(d.c_str(), 0755);
    std::string path = d + "/model.safetensors";
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK);
    ASSERT_EQ(devo_model_init_weights(m, 78), DEVO_OK);
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK); // over the old one
    devo_model *back = nullptr;
    ASSERT_EQ(devo_model_load(&back, path.c_str()), DEVO_OK);
    EXPECT_EQ(weights(back), weights(m));
    size_t entries = 0;
    DIR *listing = opendir(d.c_str());
    while (struct dirent *e = readdir(listing)) entries += e->d_name[0] != '.';
    closedir(listing);
    EXPECT_EQ(entries, 1u);
    EXPECT_EQ(devo_model_save(m, "/nonexistent-dir/model.safetensors"), DEVO_ERR_IO);
    EXPECT_NE(std::string(devo_last_error()).find("/nonexistent-dir"), std::string::npos);
    devo_model *raw = nullptr;
    ASSERT_EQ(devo_model_create(&raw, 2), DEVO_OK);
    EXPECT_EQ(devo_model_save(raw, path.c_str()), DEVO_ERR_INVALID_ARGUMENT);
    devo_model_free(raw);
    devo_model_free(back);
    devo_model_free(m);
}

// A safetensors file from a header text and a data section; the length prefix is the header's
// size, or `declared` when that is >= 0.
std::string write_raw(const std::string &name, const std::string &header,
                      const std::vector<unsigned char> &data, long long declared = -1)
{
    std::string path = dir() + "/" + name;
    FILE *f = fopen(path.c_str(), "wb");
    uint64_t n = declared >= 0 ? (uint64_t)declared : header.size();
    for (int i = 0; i < 8; i++) fputc((int)(n >> (8 * i)) & 0xff, f);
    fwrite(header.data(), 1, header.size(), f);
    fwrite(data.data(), 1, data.size(), f);
    fclose(f);
    return path;
}

// A valid header for 2 inputs -> 1 sigmoid output (3 weights, 12 bytes), with replaceable parts.
std::string header(const std::string &meta = "", const std::string &kernel = "",
                   const std::string &bias = "", const std::string &extra = "")
{
    std::string m = meta.empty() ? R"({"devo_format_version":"1","input_dim":"2","layers":"1:sigmoid","loss":"binary_crossentropy"})"
                                 : meta;
    std::string k = kernel.empty() ? R"({"dtype":"F32","shape":[2,1],"data_offsets":[0,8]})" : kernel;
    std::string b = bias.empty() ? R"({"dtype":"F32","shape":[1],"data_offsets":[8,12]})" : bias;
    return "{\"__metadata__\":" + m + ",\"dense/kernel\":" + k + ",\"dense/bias\":" + b + extra +
           "}";
}

std::vector<unsigned char> floats(std::vector<float> v)
{
    std::vector<unsigned char> out(4 * v.size());
    memcpy(out.data(), v.data(), out.size());
    return out;
}

void expect_format(const std::string &path, const char *mentions)
{
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_load(&m, path.c_str()), DEVO_ERR_FORMAT) << devo_last_error();
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(devo_last_error()).find(mentions), std::string::npos)
        << path << ": " << devo_last_error();
}

TEST(ModelFile, LoadsAHandWrittenValidFile)
{
    devo_model *m = nullptr;
    std::string path = write_raw("valid.safetensors", header(), floats({0.5f, -1.0f, 0.25f}));
    ASSERT_EQ(devo_model_load(&m, path.c_str()), DEVO_OK) << devo_last_error();
    EXPECT_EQ(weights(m), (std::vector<float>{0.5f, -1.0f, 0.25f}));
    EXPECT_EQ(devo_model_loss(m), DEVO_LOSS_BINARY_CROSSENTROPY);
    devo_model_free(m);
}

TEST(ModelFile, RejectsBrokenFramingAndJson)
{
    auto data = floats({0.5f, -1.0f, 0.25f});
    std::string tiny = dir() + "/short.safetensors";
    FILE *f = fopen(tiny.c_str(), "wb");
    fwrite("\x10\0\0", 1, 3, f);
    fclose(f);
    expect_format(tiny, "too short");
    expect_format(write_raw("long.safetensors", header(), data, 1 << 20), "header length");
    expect_format(write_raw("zero.safetensors", "", data, 0), "header length");
    expect_format(write_raw("json.safetensors", "{\"__metadata__\": [1,", data), "bad JSON");
    expect_format(write_raw("array.safetensors", "[1, 2, 3]", data), "not an object");
    expect_format(write_raw("dup.safetensors",
                            header("", "", "", R"(,"dense/bias":{"dtype":"F32"})"), data),
                  "bad JSON");
}

TEST(ModelFile, RejectsBadMetadata)
{
    auto data = floats({0.5f, -1.0f, 0.25f});
    expect_format(write_raw("nometa.safetensors",
                            R"({"dense/kernel":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}})",
                            data),
                  "__metadata__");
    expect_format(write_raw("v2.safetensors",
                            header(R"({"devo_format_version":"2","input_dim":"2","layers":"1:sigmoid","loss":"mse"})"),
                            data),
                  "devo_format_version");
    expect_format(write_raw("numeric.safetensors",
                            header(R"({"devo_format_version":"1","input_dim":2,"layers":"1:sigmoid","loss":"mse"})"),
                            data),
                  "not a string");
    expect_format(write_raw("loss.safetensors",
                            header(R"({"devo_format_version":"1","input_dim":"2","layers":"1:sigmoid","loss":"hinge"})"),
                            data),
                  "hinge");
    expect_format(write_raw("layers.safetensors",
                            header(R"({"devo_format_version":"1","input_dim":"2","layers":"1:swish","loss":"mse"})"),
                            data),
                  "swish");
    expect_format(write_raw("input.safetensors",
                            header(R"({"devo_format_version":"1","input_dim":"-2","layers":"1:sigmoid","loss":"mse"})"),
                            data),
                  "input_dim");
    // An architecture far larger than the data: refused before any allocation of its size.
    expect_format(write_raw("huge.safetensors",
                            header(R"({"devo_format_version":"1","input_dim":"2000000000","layers":"2000000000:relu","loss":"mse"})"),
                            data),
                  "data section");
}

TEST(ModelFile, RejectsTensorsThatDisagreeWithTheArchitecture)
{
    auto data = floats({0.5f, -1.0f, 0.25f});
    expect_format(write_raw("dtype.safetensors",
                            header("", R"({"dtype":"F16","shape":[2,1],"data_offsets":[0,8]})"), data),
                  "F16");
    expect_format(write_raw("shape.safetensors",
                            header("", R"({"dtype":"F32","shape":[1,2],"data_offsets":[0,8]})"), data),
                  "shape");
    expect_format(write_raw("bounds.safetensors",
                            header("", R"({"dtype":"F32","shape":[2,1],"data_offsets":[8,16]})"), data),
                  "data_offsets");
    expect_format(write_raw("overlap.safetensors",
                            header("", R"({"dtype":"F32","shape":[2,1],"data_offsets":[4,12]})",
                                   R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"),
                            data),
                  "overlap");
    expect_format(write_raw("extra.safetensors",
                            header("", "", "", R"(,"dense_1/kernel":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})"),
                            data),
                  "tensors");
    expect_format(write_raw("missing.safetensors",
                            R"({"__metadata__":{"devo_format_version":"1","input_dim":"2","layers":"1:sigmoid","loss":"mse"},"dense/kernel":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"dense_7/bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                            data),
                  "missing");
    expect_format(write_raw("truncated.safetensors", header(), floats({0.5f, -1.0f})),
                  "data section");
    expect_format(write_raw("nan.safetensors", header(), floats({0.5f, NAN, 0.25f})), "non-finite");
    devo_model *m = nullptr;
    EXPECT_EQ(devo_model_load(&m, "/nonexistent/model.safetensors"), DEVO_ERR_IO);
    EXPECT_EQ(devo_model_load(&m, nullptr), DEVO_ERR_INVALID_ARGUMENT);
}

} // namespace
