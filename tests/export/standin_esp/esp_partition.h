// Stand-in for ESP-IDF's esp_partition.h: the partition API as ESP-IDF 5 declares it
// (components/esp_partition/include/esp_partition.h), or ESP-IDF 4's mmap types
// (components/spi_flash/include/esp_partition.h) with -DESP_IDF_VERSION_MAJOR=4. Declarations only.
#ifndef STANDIN_ESP_PARTITION_H_
#define STANDIN_ESP_PARTITION_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_idf_version.h"
#if ESP_IDF_VERSION_MAJOR < 5
#include "esp_spi_flash.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct esp_flash_t esp_flash_t;

#if ESP_IDF_VERSION_MAJOR >= 5
typedef enum {
  ESP_PARTITION_MMAP_DATA, /* map to data memory (Vaddr0), allows byte-aligned access, 4 MB total */
  ESP_PARTITION_MMAP_INST, /* map to instruction memory (Vaddr1-3), allows only 4-byte-aligned access */
} esp_partition_mmap_memory_t;

typedef uint32_t esp_partition_mmap_handle_t;
#endif

typedef enum {
  ESP_PARTITION_TYPE_APP = 0x00,
  ESP_PARTITION_TYPE_DATA = 0x01,
  ESP_PARTITION_TYPE_ANY = 0xff,
} esp_partition_type_t;

typedef enum {
  ESP_PARTITION_SUBTYPE_APP_FACTORY = 0x00,
  ESP_PARTITION_SUBTYPE_DATA_OTA = 0x00,
  ESP_PARTITION_SUBTYPE_DATA_PHY = 0x01,
  ESP_PARTITION_SUBTYPE_DATA_NVS = 0x02,
  ESP_PARTITION_SUBTYPE_DATA_COREDUMP = 0x03,
  ESP_PARTITION_SUBTYPE_DATA_FAT = 0x81,
  ESP_PARTITION_SUBTYPE_DATA_SPIFFS = 0x82,
  ESP_PARTITION_SUBTYPE_DATA_LITTLEFS = 0x83,
  ESP_PARTITION_SUBTYPE_ANY = 0xff,
} esp_partition_subtype_t;

typedef struct {
  esp_flash_t* flash_chip;          /* SPI flash chip on which the partition resides */
  esp_partition_type_t type;        /* partition type (app/data) */
  esp_partition_subtype_t subtype;  /* partition subtype */
  uint32_t address;                 /* starting address of the partition in flash */
  uint32_t size;                    /* size of the partition, in bytes */
#if ESP_IDF_VERSION_MAJOR >= 5
  uint32_t erase_size;              /* size the erase operation should be aligned to */
#endif
  char label[17];                   /* partition label, zero-terminated ASCII string */
  bool encrypted;                   /* flag is set to true if partition is encrypted */
} esp_partition_t;

const esp_partition_t* esp_partition_find_first(esp_partition_type_t type, esp_partition_subtype_t subtype,
                                                const char* label);

esp_err_t esp_partition_read(const esp_partition_t* partition, size_t src_offset, void* dst, size_t size);

#if ESP_IDF_VERSION_MAJOR >= 5
esp_err_t esp_partition_mmap(const esp_partition_t* partition, size_t offset, size_t size,
                             esp_partition_mmap_memory_t memory, const void** out_ptr,
                             esp_partition_mmap_handle_t* out_handle);

void esp_partition_munmap(esp_partition_mmap_handle_t handle);
#else
esp_err_t esp_partition_mmap(const esp_partition_t* partition, size_t offset, size_t size,
                             spi_flash_mmap_memory_t memory, const void** out_ptr,
                             spi_flash_mmap_handle_t* out_handle);
#endif

#ifdef __cplusplus
}
#endif

#endif  // STANDIN_ESP_PARTITION_H_
