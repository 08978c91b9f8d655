// Stand-in for ESP-IDF's esp_err.h: the error type and the codes the partition API returns.
#ifndef STANDIN_ESP_ERR_H_
#define STANDIN_ESP_ERR_H_

typedef int esp_err_t;

#define ESP_OK 0
#define ESP_FAIL -1
#define ESP_ERR_INVALID_ARG 0x102
#define ESP_ERR_INVALID_SIZE 0x104

#endif  // STANDIN_ESP_ERR_H_
