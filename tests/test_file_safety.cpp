// Files on disk: the right codes for odd model files, long architectures, gzip bombs in the
// IDX loader, and what a save does to modes, stale temporaries and symlinks.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "devo.h"
#include "test_expect.h"
#include "test_paths.h"

namespace {

std::string dir()
{
    std::string d = test_tmp() + "/safety";
    make_dirs(d);
    return d;
}

// A safetensors file: 8-byte little-endian length, the JSON, then `floats` zero weights.
void write_safetensors(const std::string &path, const std::string &json, size_t floats)
{
    FILE *f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    uint64_t len = json.size();
    for (int i = 0; i < 8; i++) fputc((int)(len >> (8 * i)) & 0xff, f);
    fwrite(json.data(), 1, json.size(), f);
    std::vector<float> zeros(floats, 0.0f);
    fwrite(zeros.data(), sizeof(float), floats, f);
    fclose(f);
}

TEST(FileSafety, OneOutputSparseModelFileIsAFormatErrorNamingThePath)
{
    std::string path = dir() + "/sparse1.safetensors";
    write_safetensors(path,
                      "{\"__metadata__\":{\"devo_format_version\":\"1\",\"input_dim\":\"3\","
                      "\"layers\":\"1:sigmoid\",\"loss\":\"sparse_categorical_crossentropy\"},"
                      "\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[3,1],\"data_offsets\":[0,12]},"
                      "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
                      4);
    devo_model *m = nullptr;
    expect_error(devo_model_load(&m, path.c_str()), DEVO_ERR_FORMAT, {path, "outputs"});
    EXPECT_EQ(m, nullptr);
}

TEST(FileSafety, LoadingADirectorySaysItIsADirectory)
{
    devo_model *m = nullptr;
    std::string d = dir();
    expect_error(devo_model_load(&m, d.c_str()), DEVO_ERR_IO, {d, "directory"});
    EXPECT_EQ(std::string(devo_last_error()).find("9223372036854775807"), std::string::npos);
    devo_model *saved = nullptr;
    ASSERT_EQ(devo_model_create(&saved, 1), DEVO_OK);
    ASSERT_EQ(devo_model_add_dense(saved, 1, DEVO_ACT_LINEAR), DEVO_OK);
    ASSERT_EQ(devo_model_compile(saved, DEVO_LOSS_MSE), DEVO_OK);
    expect_error(devo_model_save(saved, d.c_str()), DEVO_ERR_IO, {d, "directory"});
    devo_model_free(saved);
}

TEST(FileSafety, LayerDescriptionsOver4KiBSaveAndLoadBack)
{
    devo_model *m = nullptr, *back = nullptr;
    ASSERT_EQ(devo_model_create(&m, 4), DEVO_OK);
    const size_t layers = 600; // "12:sigmoid," x 600 is 6.6 KB of description
    for (size_t l = 0; l < layers; l++)
        ASSERT_EQ(devo_model_add_dense(m, 12, DEVO_ACT_SIGMOID), DEVO_OK);
    ASSERT_EQ(devo_model_compile(m, DEVO_LOSS_MSE), DEVO_OK);
    ASSERT_EQ(devo_model_init_weights(m, 5), DEVO_OK);
    std::string path = dir() + "/deep.safetensors";
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_model_load(&back, path.c_str()), DEVO_OK) << devo_last_error();
    ASSERT_EQ(devo_model_layer_count(back), layers);
    std::vector<float> a(devo_model_param_count(m)), b(devo_model_param_count(back));
    ASSERT_EQ(a.size(), b.size());
    devo_model_get_weights(m, a.data(), a.size());
    devo_model_get_weights(back, b.data(), b.size());
    EXPECT_EQ(a, b);
    devo_model_free(m);
    devo_model_free(back);
}

// An IDX file: header declaring dims, then `zeros` zero bytes of data, gzip-compressed.
std::string write_gzip_zeros(const std::string &name, const std::vector<uint32_t> &dims,
                             size_t zeros)
{
    std::string path = dir() + "/" + name;
    gzFile f = gzopen(path.c_str(), "wb9");
    std::vector<unsigned char> header = {0, 0, 0x08, (unsigned char)dims.size()};
    for (uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) header.push_back((unsigned char)(d >> shift));
    gzwrite(f, header.data(), (unsigned)header.size());
    std::vector<unsigned char> block(1 << 20, 0);
    for (size_t done = 0; done < zeros; done += block.size())
        gzwrite(f, block.data(), (unsigned)std::min(block.size(), zeros - done));
    gzclose(f);
    return path;
}

long max_rss_kib()
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

TEST(FileSafety, GzipBombsAreRefusedBeforeTheyInflate)
{
    // 64 MiB of zeros declared and present, in a ~64 KiB gzip: refused before inflating (the
    // loader used to hold the bytes and then 256 MiB of floats).
    std::string images = write_gzip_zeros("bomb-img.gz", {1, 8192, 8192}, (size_t)64 << 20);
    std::string labels = write_gzip_zeros("bomb-lab.gz", {1}, 1);
    struct stat st;
    ASSERT_EQ(stat(images.c_str(), &st), 0);
    long before = max_rss_kib();
    devo_dataset *d = nullptr;
    expect_error(devo_dataset_load_idx(&d, images.c_str(), labels.c_str()), DEVO_ERR_FORMAT,
                 {images, "67108864", std::to_string(st.st_size)});
    EXPECT_EQ(d, nullptr);
    EXPECT_LT(max_rss_kib() - before, 32 * 1024) << "KiB of peak memory grown by the call";
    // A header that declares little before a bomb: only the declared bytes are inflated.
    std::string liar = write_gzip_zeros("liar-img.gz", {1, 28, 28}, (size_t)64 << 20);
    expect_error(devo_dataset_load_idx(&d, liar.c_str(), labels.c_str()), DEVO_ERR_FORMAT,
                 {liar, "trailing"});
    EXPECT_LT(max_rss_kib() - before, 32 * 1024);
}

TEST(FileSafety, LoadingADirectoryAsIdxIsAnIoError)
{
    devo_dataset *d = nullptr;
    std::string d_path = dir();
    expect_error(devo_dataset_load_idx(&d, d_path.c_str(), d_path.c_str()), DEVO_ERR_IO,
                 {d_path, "directory"});
}

// A fresh directory holding one saved model; returns the model's path.
std::string fresh_save_dir(const std::string &name, devo_model **m)
{
    std::string d = dir() + "/" + name;
    std::string cmd = "rm -rf '" + d + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
    mkdir(d.c_str(), 0755);
    EXPECT_EQ(devo_model_create(m, 2), DEVO_OK);
    EXPECT_EQ(devo_model_add_dense(*m, 2, DEVO_ACT_SOFTMAX), DEVO_OK);
    EXPECT_EQ(devo_model_compile(*m, DEVO_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY), DEVO_OK);
    return d + "/model.safetensors";
}

mode_t mode_of(const std::string &path)
{
    struct stat st;
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

std::vector<std::string> entries(const std::string &d)
{
    std::vector<std::string> names;
    DIR *dp = opendir(d.c_str());
    while (struct dirent *e = readdir(dp))
        if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(dp);
    std::sort(names.begin(), names.end());
    return names;
}

TEST(FileSafety, SavesHonourUmaskAndKeepAnExistingMode)
{
    devo_model *m = nullptr;
    std::string path = fresh_save_dir("modes", &m);
    mode_t old = umask(027);
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK) << devo_last_error();
    umask(old);
    EXPECT_EQ(mode_of(path), 0640u) << "a new file gets 0666 & ~umask";
    ASSERT_EQ(chmod(path.c_str(), 0600), 0);
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK) << devo_last_error();
    EXPECT_EQ(mode_of(path), 0600u) << "a replaced file keeps its mode";
    devo_model_free(m);
}

TEST(FileSafety, SavesCleanStaleTemporariesButNotLiveOnesOrOthers)
{
    devo_model *m = nullptr;
    std::string path = fresh_save_dir("stale", &m);
    std::string d = path.substr(0, path.rfind('/'));
    for (const char *name : {"model.safetensors.tmp-Ab3xYz", "model.safetensors.tmp-000000",
                             "model.safetensors.tmp-toolong", "other.safetensors.tmp-Ab3xYz",
                             "model.safetensors.tmp-LIVE01"})
        fclose(fopen((d + "/" + name).c_str(), "wb"));
    // A save in progress elsewhere holds a lock on its temporary file: that one stays.
    int live = open((d + "/model.safetensors.tmp-LIVE01").c_str(), O_RDONLY);
    ASSERT_EQ(flock(live, LOCK_EX), 0);
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK) << devo_last_error();
    close(live);
    std::vector<std::string> want = {"model.safetensors", "model.safetensors.tmp-LIVE01",
                                     "model.safetensors.tmp-toolong",
                                     "other.safetensors.tmp-Ab3xYz"};
    EXPECT_EQ(entries(d), want);
    devo_model_free(m);
}

TEST(FileSafety, SavingThroughASymlinkWritesItsTargetAndKeepsTheLink)
{
    devo_model *m = nullptr, *back = nullptr;
    std::string path = fresh_save_dir("symlink", &m);
    std::string d = path.substr(0, path.rfind('/'));
    mkdir((d + "/real").c_str(), 0755);
    ASSERT_EQ(symlink("real/target.safetensors", path.c_str()), 0); // dangling at first
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK) << devo_last_error();
    struct stat st;
    ASSERT_EQ(lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link stays a link";
    ASSERT_EQ(devo_model_load(&back, (d + "/real/target.safetensors").c_str()), DEVO_OK)
        << devo_last_error();
    devo_model_free(back);
    ASSERT_EQ(chmod((d + "/real/target.safetensors").c_str(), 0600), 0);
    ASSERT_EQ(devo_model_save(m, path.c_str()), DEVO_OK) << devo_last_error(); // replaces it
    ASSERT_EQ(lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(mode_of(d + "/real/target.safetensors"), 0600u);
    EXPECT_EQ(entries(d + "/real"), std::vector<std::string>{"target.safetensors"});
    devo_model_free(m);
}

TEST(FileSafety, IdxFromAPipeStillLoads)
{
    // A pipe has no size to check the header against: it streams, bounded by the header.
    std::string d = dir(), fifo = d + "/pipe-img", labels = d + "/pipe-lab";
    unlink(fifo.c_str());
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    FILE *f = fopen(labels.c_str(), "wb");
    const unsigned char label_bytes[] = {0, 0, 8, 1, 0, 0, 0, 1, 7};
    fwrite(label_bytes, 1, sizeof label_bytes, f);
    fclose(f);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const unsigned char image[] = {0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255};
        FILE *w = fopen(fifo.c_str(), "wb");
        fwrite(image, 1, sizeof image, w);
        fclose(w);
        _exit(0);
    }
    devo_dataset *ds = nullptr;
    ASSERT_EQ(devo_dataset_load_idx(&ds, fifo.c_str(), labels.c_str()), DEVO_OK)
        << devo_last_error();
    EXPECT_EQ(devo_dataset_dim(ds), 2u);
    EXPECT_EQ(devo_dataset_x(ds)[1], 1.0f);
    EXPECT_EQ(devo_dataset_y(ds)[0], 7.0f);
    devo_dataset_free(ds);
    int status = 0;
    waitpid(child, &status, 0);
}

} // namespace
