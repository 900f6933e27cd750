// The IDX loader on valid files (plain and gzip) and on corrupted ones.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cstdio>
#include <string>
#include <vector>

#include "devo.h"
#include "test_paths.h"

namespace {

using Bytes = std::vector<unsigned char>;

std::string tmp_path(const std::string &name)
{
    return test_tmp() + "/" + name;
}

Bytes idx_header(unsigned char type, std::vector<uint32_t> dims)
{
    Bytes b = {0, 0, type, (unsigned char)dims.size()};
    for (uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) b.push_back((unsigned char)(d >> shift));
    return b;
}

Bytes images(uint32_t n, uint32_t rows, uint32_t cols)
{
    Bytes b = idx_header(0x08, {n, rows, cols});
    for (uint32_t i = 0; i < n * rows * cols; i++) b.push_back((unsigned char)(i * 37 % 256));
    return b;
}

Bytes labels(uint32_t n)
{
    Bytes b = idx_header(0x08, {n});
    for (uint32_t i = 0; i < n; i++) b.push_back((unsigned char)(i % 10));
    return b;
}

std::string write_plain(const std::string &name, const Bytes &b)
{
    std::string path = tmp_path(name);
    FILE *f = fopen(path.c_str(), "wb");
    fwrite(b.data(), 1, b.size(), f);
    fclose(f);
    return path;
}

std::string write_gzip(const std::string &name, const Bytes &b)
{
    std::string path = tmp_path(name);
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, b.data(), (unsigned)b.size());
    gzclose(f);
    return path;
}

devo_status load(const std::string &img, const std::string &lab, devo_dataset **out = nullptr)
{
    devo_dataset *d = nullptr;
    devo_status s = devo_dataset_load_idx(&d, img.c_str(), lab.c_str());
    if (out)
        *out = d;
    else
        devo_dataset_free(d);
    return s;
}

void expect_format_error(const std::string &img, const std::string &lab, const char *mentions)
{
    devo_dataset *d = nullptr;
    EXPECT_EQ(load(img, lab, &d), DEVO_ERR_FORMAT) << devo_last_error();
    EXPECT_EQ(d, nullptr);
    EXPECT_NE(std::string(devo_last_error()).find(mentions), std::string::npos)
        << devo_last_error();
}

TEST(Idx, LoadsPlainFilesScaledToUnitRange)
{
    devo_dataset *d = nullptr;
    ASSERT_EQ(load(write_plain("a-img", images(12, 3, 4)), write_plain("a-lab", labels(12)), &d),
              DEVO_OK)
        << devo_last_error();
    EXPECT_EQ(devo_dataset_count(d), 12u);
    EXPECT_EQ(devo_dataset_dim(d), 12u);
    EXPECT_EQ(devo_dataset_classes(d), 10u);
    const float *x = devo_dataset_x(d), *y = devo_dataset_y(d);
    for (uint32_t i = 0; i < 12 * 12; i++) ASSERT_FLOAT_EQ(x[i], (float)(i * 37 % 256) / 255.0f);
    for (uint32_t i = 0; i < 12; i++) ASSERT_EQ(y[i], (float)(i % 10));
    devo_dataset_free(d);
    devo_dataset_free(nullptr);
    EXPECT_EQ(devo_dataset_x(nullptr), nullptr);
}

TEST(Idx, LoadsGzipFilesAndFindsThemInADirectory)
{
    write_gzip("train-images-idx3-ubyte.gz", images(7, 2, 2));
    write_gzip("train-labels-idx1-ubyte.gz", labels(7));
    devo_dataset *d = nullptr;
    ASSERT_EQ(devo_dataset_load_idx_dir(&d, test_tmp().c_str(), "train"), DEVO_OK) << devo_last_error();
    EXPECT_EQ(devo_dataset_count(d), 7u);
    EXPECT_EQ(devo_dataset_dim(d), 4u);
    devo_dataset_free(d);
    EXPECT_EQ(devo_dataset_load_idx_dir(&d, test_tmp().c_str(), "nosuchsplit"), DEVO_ERR_IO);
}

TEST(Idx, RejectsTruncatedImages)
{
    Bytes img = images(10, 4, 4);
    img.resize(img.size() - 5);
    expect_format_error(write_plain("t-img", img), write_plain("t-lab", labels(10)), "truncated");
    expect_format_error(write_gzip("t-img.gz", img), write_plain("t-lab", labels(10)), "truncated");
    Bytes header_only = idx_header(0x08, {10, 4});
    header_only.resize(9);
    expect_format_error(write_plain("t2-img", header_only), write_plain("t-lab", labels(10)),
                        "dimensions");
    expect_format_error(write_plain("t3-img", Bytes{0, 0}), write_plain("t-lab", labels(10)),
                        "too short");
}

TEST(Idx, RejectsWrongMagicTypeAndRank)
{
    Bytes img = images(3, 2, 2), lab = labels(3);
    std::string good_lab = write_plain("m-lab", lab), good_img = write_plain("m-img", img);
    Bytes bad = img;
    bad[0] = 1;
    expect_format_error(write_plain("m1-img", bad), good_lab, "magic");
    bad = img;
    bad[2] = 0x0D; // float elements
    expect_format_error(write_plain("m2-img", bad), good_lab, "element type");
    bad = img;
    bad[3] = 7;
    expect_format_error(write_plain("m3-img", bad), good_lab, "rank");
    expect_format_error(good_img, write_plain("m4-lab", images(3, 1, 1)), "rank");
    Bytes zero = idx_header(0x08, {3, 0, 2});
    expect_format_error(write_plain("m5-img", zero), good_lab, "is 0");
}

TEST(Idx, RejectsCountsThatLieWithoutAHugeAllocation)
{
    Bytes img = images(5, 28, 28);
    img[4] = 0x7f; // n = 0x7f000005 images of 784 bytes: far more than the file holds
    expect_format_error(write_plain("l-img", img), write_plain("l-lab", labels(5)), "declare");
    Bytes lab = labels(5);
    lab[7] = 200; // the label file claims 200 labels but holds 5
    expect_format_error(write_plain("l2-img", images(5, 2, 2)), write_plain("l2-lab", lab),
                        "truncated");
}

TEST(Idx, RejectsTrailingBytesAndDisagreeingCounts)
{
    Bytes img = images(4, 2, 2);
    img.push_back(1);
    expect_format_error(write_plain("x-img", img), write_plain("x-lab", labels(4)), "trailing");
    expect_format_error(write_plain("x2-img", images(4, 2, 2)), write_plain("x2-lab", labels(5)),
                        "labels");
}

TEST(Idx, RejectsGzipThatIsNotGzip)
{
    std::string lab = write_plain("g-lab", labels(4));
    expect_format_error(write_plain("g-img.gz", Bytes{'h', 'e', 'l', 'l', 'o', '\n'}), lab,
                        "magic");
    // A real gzip header followed by garbage instead of deflate data.
    Bytes broken = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (int i = 0; i < 64; i++) broken.push_back((unsigned char)(0xff - i));
    expect_format_error(write_plain("g2-img.gz", broken), lab, "");
}

TEST(Idx, MissingFilesAreIoErrors)
{
    devo_dataset *d = nullptr;
    EXPECT_EQ(devo_dataset_load_idx(&d, "/nonexistent/images", "/nonexistent/labels"), DEVO_ERR_IO);
    EXPECT_NE(std::string(devo_last_error()).find("/nonexistent/images"), std::string::npos);
    EXPECT_EQ(devo_dataset_load_idx(&d, nullptr, "x"), DEVO_ERR_INVALID_ARGUMENT);
}

} // namespace
